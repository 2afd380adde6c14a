namespace Insights.Http;

/// <summary>A JSON value that is well-formed but cannot be accepted; its message is meant for the client.</summary>
public sealed class RejectedJsonException(string message) : JsonException(message);
