namespace Insights.Ingestion;

/// <summary>
/// Ingestion's catalog tables as other capabilities' statements name them where one statement must join on them (the
/// fleet health view and gauges): see docs/decisions/0021-typed-seams-and-one-owner-per-table.md.
/// </summary>
public static class IngestionRows
{
    /// <summary>
    /// Per tenant: the cursor's copy, <c>checked_at</c>, <c>created_at</c>, <c>riding_since</c>, the sweeps' shares.
    /// </summary>
    public const string Cursors = "catalog.ingestion_cursors";

    /// <summary>A tenant's runs: <c>id, tenant_id, status, error, finished_at, …</c>.</summary>
    public const string Runs = "catalog.ingestion_runs";

    /// <summary>When the newest succeeded sweep started (<c>read_at</c>): the time every rider was read.</summary>
    public const string LastSweep = "(SELECT max(started_at) AS read_at FROM catalog.ingestion_sweeps WHERE status = 'succeeded')";
}
