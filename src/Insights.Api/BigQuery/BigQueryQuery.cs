namespace Insights.BigQuery;

/// <summary>A GoogleSQL query with named parameters.</summary>
public sealed record BigQueryQuery(string Sql)
{
    public IReadOnlyList<BigQueryParameter> Parameters { get; init; } = [];

    /// <summary>The tenant the query runs for: the job's <c>tenant</c> label (sanitized), never SQL text.</summary>
    public string? TenantId { get; init; }

    /// <summary>Rows per page (<c>maxResults</c>); null means <see cref="BigQueryOptions.PageSize"/>.</summary>
    public int? PageSize { get; init; }
}
