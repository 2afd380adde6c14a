namespace Insights.Ingestion;

/// <summary>One ingestion run of one tenant, as the admin API shows it.</summary>
public sealed record IngestionRun(
    Guid Id, string TenantId, string Status, string Trigger, DateTimeOffset RequestedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt,
    int Pages, long RowsRead, long RowsChanged, long MessagesEnqueued, long Skipped, RawJson SkippedTypes,
    long BytesProcessed, long BytesBilled, decimal EstimatedCostUsd, string? Error);
