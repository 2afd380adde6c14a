namespace Insights.Messaging;

public sealed record Pong(DateTimeOffset SentAt, string Node);
