namespace Insights.Messaging;

/// <summary>A round trip through the bus and a worker, with no other work: the floor of every request/reply.</summary>
public sealed record Ping(DateTimeOffset SentAt);
