namespace Insights.BigQuery;

/// <summary>Backoff for transient failures and for polling an unfinished job (section <c>BigQuery:Retry</c>).</summary>
public sealed class BigQueryRetryOptions
{
    public int InitialDelayMs { get; set; } = 1000;
    public double Multiplier { get; set; } = 2.0;
    public int MaxDelayMs { get; set; } = 60_000;

    /// <summary>
    /// Longest pause between two polls of an unfinished job (each poll already waits up to <c>TimeoutMs</c> on the
    /// server).
    /// </summary>
    public int MaxPollDelayMs { get; set; } = 5000;

    /// <summary>Total time one call keeps retrying, and the longest a job may stay unfinished.</summary>
    public int DeadlineSeconds { get; set; } = 600;

    /// <summary>How many times a query whose job failed (<c>jobBackendError</c> and kin) is issued again.</summary>
    public int MaxJobRetries { get; set; } = 3;
}
