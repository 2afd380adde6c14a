namespace Insights.SmartLink;

public sealed record MessageDetail(
    Guid Id, string Type, string Priority, string Status, int DeliveryCount, DateTimeOffset EnqueuedAt, DateTimeOffset VisibleAt,
    DateTimeOffset? LastLeasedAt, DateTimeOffset? FinishedAt, string? DeadReason, ProcessingReport? Processing, RawJson History, RawJson Envelope);
