namespace Insights.BigQuery;

/// <summary>How the service reaches BigQuery (section <c>BigQuery</c>).</summary>
public sealed class BigQueryOptions
{
    public const string Section = "BigQuery";
    public const string Scope = "https://www.googleapis.com/auth/bigquery";
    public const long GiB = 1024L * 1024 * 1024;

    /// <summary>Root of the REST API; tests point it at a fake.</summary>
    public string BaseUrl { get; set; } = "https://bigquery.googleapis.com";

    /// <summary>The project that runs (and pays for) the query jobs.</summary>
    public string? ProjectId { get; set; }

    /// <summary>Where the jobs run; must match the dataset's location.</summary>
    public string Location { get; set; } = "US";

    /// <summary>A service-account JSON key file; blank means application default credentials.</summary>
    public string? CredentialsFile { get; set; }

    /// <summary>Cap of each query: a query that would bill more fails without a charge.</summary>
    public long MaximumBytesBilled { get; set; } = 10 * GiB;

    /// <summary>Rows per result page (<c>maxResults</c>); BigQuery may return shorter pages.</summary>
    public int PageSize { get; set; } = 5000;

    /// <summary>How long BigQuery holds one request waiting for the job to finish (<c>timeoutMs</c>).</summary>
    public int TimeoutMs { get; set; } = 10_000;

    /// <summary>One HTTP attempt that takes longer counts as a network timeout and is retried.</summary>
    public int HttpTimeoutSeconds { get; set; } = 60;

    /// <summary>On-demand price in USD per TiB billed, for the cost estimate.</summary>
    public decimal PricePerTiB { get; set; } = 6.25m;

    public BigQueryRetryOptions Retry { get; set; } = new();
}
