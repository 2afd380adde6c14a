namespace Insights.Ingestion;

/// <summary>
/// A tenant's ingestion for its usage: totals of its runs kept (<see cref="IngestionRunOptions.RunRetention"/>), when
/// its own run last read the source to its end (<see cref="LastCheckedAt"/>), its share of the fleet sweeps (rows, and
/// bytes billed and cost apportioned by rows), since when it rides them, and the newest updated_at applied.
/// </summary>
public sealed record IngestionTotals(
    int Runs, long RowsRead, long RowsChanged, long MessagesEnqueued, long BytesProcessed, long BytesBilled, decimal EstimatedCostUsd,
    DateTimeOffset? LastFinishedAt, DateTimeOffset? LastCheckedAt, long SweptRows, long SweptBytesBilled, decimal SweptCostUsd,
    DateTimeOffset? RidingSweepSince, DateTimeOffset? NewestAppliedAt)
{
    public double? LagSeconds => NewestAppliedAt is { } newest ? Math.Max(0, (DateTimeOffset.UtcNow - newest).TotalSeconds) : null;
}
