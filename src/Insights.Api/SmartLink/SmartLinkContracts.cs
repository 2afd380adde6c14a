namespace Insights.SmartLink;

public sealed record ReceiveRequest(int? Max, int? VisibilityTimeoutSeconds, int? WaitSeconds);

public sealed record ReceiveResponse(IReadOnlyList<LeasedMessage> Messages);

public sealed record AckRequest(IReadOnlyList<string>? Receipts);

public sealed record NackRequest(string? Receipt, string? Reason, bool? Requeue, int? DelaySeconds);

public sealed record NackResponse(string Status);

public sealed record LeaseRequest(IReadOnlyList<string>? Receipts, int? VisibilityTimeoutSeconds);

/// <summary>
/// An envelope a client sends: the service sets <c>id</c> and <c>time</c>. Other attributes are CloudEvents extensions
/// (<see cref="Extensions"/>): accepted when their names are valid, and not kept.
/// </summary>
public sealed record SendRequest(
    string? Specversion, string? Id, string? Type, string? Source, string? Subject, string? Time, string? Datacontenttype, JsonElement? Data)
{
    [System.Text.Json.Serialization.JsonExtensionData]
    public Dictionary<string, JsonElement>? Extensions { get; init; }
}

public sealed record SendResponse(Guid Id);
