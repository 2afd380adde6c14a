namespace Insights.Ingestion;

/// <summary>
/// The totals of the tenant's runs kept (see <see cref="IngestionRunOptions.RunRetention"/>), and when its own run last read
/// the tenant's source to its end (<see cref="LastCheckedAt"/>). The tenant's share of the fleet sweeps: rows read for it
/// and the bytes billed apportioned by rows (<see cref="SweptBytesBilled"/>, <see cref="SweptCostUsd"/>); whether it rides
/// the sweeps (since when), and the newest updated_at applied with the lag behind now.
/// </summary>
public sealed record IngestionTotals(
    int Runs, long RowsRead, long RowsChanged, long MessagesEnqueued, long BytesProcessed, long BytesBilled, decimal EstimatedCostUsd,
    DateTimeOffset? LastFinishedAt, DateTimeOffset? LastCheckedAt, long SweptRows, long SweptBytesBilled, decimal SweptCostUsd,
    DateTimeOffset? RidingSweepSince, DateTimeOffset? NewestAppliedAt)
{
    public double? LagSeconds => NewestAppliedAt is { } newest ? Math.Max(0, (DateTimeOffset.UtcNow - newest).TotalSeconds) : null;
}
