namespace Insights.SmartLink;

public sealed record MessageSummary(
    Guid Id, string Type, string Priority, string Status, int DeliveryCount, DateTimeOffset EnqueuedAt, DateTimeOffset VisibleAt,
    string? DeadReason, string? ProcessingStatus);
