namespace Insights.Ingestion;

/// <summary>
/// One fleet sweep, as the admin API shows it. <see cref="ReadBy"/>: <c>updated_at</c> or <c>arrival</c>;
/// <see cref="Note"/>: why it could not read as configured (an arrival watermark older than the change history).
/// </summary>
public sealed record IngestionSweep(
    Guid Id, string Status, DateTimeOffset RequestedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt,
    DateTimeOffset? Since, DateTimeOffset? WatermarkBefore, DateTimeOffset? WatermarkAfter, int Pages,
    long RowsRead, long RowsRouted, long RowsChanged, long RowsDeferred, long RowsUnknown, int TenantsTouched,
    long BytesProcessed, long BytesBilled, decimal EstimatedCostUsd, string? Error, bool Audit, long RowsLateBeyondLookBack,
    string ReadBy, DateTimeOffset? ArrivalWatermarkBefore, DateTimeOffset? ArrivalWatermarkAfter, string? Note)
{
    public double? DurationSeconds => StartedAt is { } started && FinishedAt is { } finished ? (finished - started).TotalSeconds : null;
}
