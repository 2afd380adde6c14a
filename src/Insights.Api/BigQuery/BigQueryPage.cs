namespace Insights.BigQuery;

/// <summary>
/// One page of a query's results. The job totals (bytes, cache hit) are the same on every page of one query;
/// <see cref="PageIndex"/> 0 is the first page.
/// </summary>
public sealed class BigQueryPage
{
    public required IReadOnlyList<BigQueryField> Schema { get; init; }
    public required IReadOnlyList<BigQueryRow> Rows { get; init; }
    public required int PageIndex { get; init; }

    /// <summary>The job id; null for a short query BigQuery answered without creating a job.</summary>
    public string? JobId { get; init; }

    public string? QueryId { get; init; }
    public string? Location { get; init; }
    public long? TotalRows { get; init; }
    public long TotalBytesProcessed { get; init; }

    /// <summary>Bytes billed (from jobs.query or jobs.get), else bytes processed when BigQuery did not say.</summary>
    public long TotalBytesBilled { get; init; }

    public bool CacheHit { get; init; }
}
