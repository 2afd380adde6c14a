using Insights.Tenancy;

namespace Insights.BigQuery;

/// <summary>Runs GoogleSQL queries on BigQuery and returns their result pages.</summary>
public interface IBigQueryClient
{
    /// <summary>
    /// Runs <paramref name="query"/> (jobs.query), waits for the job, then pages through the results
    /// (jobs.getQueryResults with <c>pageToken</c>). Transient failures are retried; a failed job is issued again
    /// until its first page is returned. Anything else throws <see cref="BigQueryException"/>.
    /// </summary>
    IAsyncEnumerable<BigQueryPage> QueryAsync(BigQueryQuery query, CancellationToken cancellationToken = default);
}
