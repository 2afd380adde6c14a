using Microsoft.Extensions.Options;

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

/// <summary>Backoff for transient failures and for polling an unfinished job (section <c>BigQuery:Retry</c>).</summary>
public sealed class BigQueryRetryOptions
{
    public int InitialDelayMs { get; set; } = 1000;
    public double Multiplier { get; set; } = 2.0;
    public int MaxDelayMs { get; set; } = 60_000;

    /// <summary>Longest pause between two polls of an unfinished job (each poll already waits up to <c>TimeoutMs</c> on the server).</summary>
    public int MaxPollDelayMs { get; set; } = 5000;

    /// <summary>Total time one call keeps retrying, and the longest a job may stay unfinished.</summary>
    public int DeadlineSeconds { get; set; } = 600;

    /// <summary>How many times a query whose job failed (<c>jobBackendError</c> and kin) is issued again.</summary>
    public int MaxJobRetries { get; set; } = 3;
}

internal sealed class BigQueryOptionsValidator : IValidateOptions<BigQueryOptions>
{
    public ValidateOptionsResult Validate(string? name, BigQueryOptions options)
    {
        const string s = BigQueryOptions.Section;
        var failures = new List<string>();
        if (!Uri.TryCreate(options.BaseUrl, UriKind.Absolute, out var baseUrl) || (baseUrl.Scheme != Uri.UriSchemeHttps && baseUrl.Scheme != Uri.UriSchemeHttp))
        {
            failures.Add($"Setting '{s}:BaseUrl' must be an absolute http(s) URL; got '{options.BaseUrl}'.");
        }

        if (string.IsNullOrWhiteSpace(options.ProjectId))
        {
            failures.Add($"Setting '{s}:ProjectId' is required when 'Ingestion:Source' is BigQuery (the Google Cloud project that runs the queries).");
        }
        else if (!IsProjectId(options.ProjectId))
        {
            failures.Add($"Setting '{s}:ProjectId' is not a Google Cloud project id; got '{options.ProjectId}'.");
        }

        if (string.IsNullOrWhiteSpace(options.Location))
        {
            failures.Add($"Setting '{s}:Location' must not be empty (e.g. US, EU, southamerica-east1).");
        }

        if (!string.IsNullOrWhiteSpace(options.CredentialsFile) && !File.Exists(options.CredentialsFile))
        {
            failures.Add($"Setting '{s}:CredentialsFile' names a file that does not exist: '{options.CredentialsFile}' (leave it blank for application default credentials).");
        }

        if (options.MaximumBytesBilled < 10L * 1024 * 1024)
        {
            failures.Add($"Setting '{s}:MaximumBytesBilled' must be at least 10485760 (BigQuery bills at least 10 MB per query); got {options.MaximumBytesBilled}.");
        }

        if (options.PageSize is < 1 or > 100_000)
        {
            failures.Add($"Setting '{s}:PageSize' must be between 1 and 100000; got {options.PageSize}.");
        }

        if (options.TimeoutMs is < 0 or > 300_000)
        {
            failures.Add($"Setting '{s}:TimeoutMs' must be between 0 and 300000; got {options.TimeoutMs}.");
        }

        if (options.HttpTimeoutSeconds < 1 || options.HttpTimeoutSeconds * 1000L <= options.TimeoutMs)
        {
            failures.Add($"Setting '{s}:HttpTimeoutSeconds' must be longer than '{s}:TimeoutMs' allows the server to wait; got {options.HttpTimeoutSeconds}.");
        }

        if (options.PricePerTiB < 0)
        {
            failures.Add($"Setting '{s}:PricePerTiB' must not be negative; got {options.PricePerTiB}.");
        }

        var retry = options.Retry;
        if (retry.InitialDelayMs < 0)
        {
            failures.Add($"Setting '{s}:Retry:InitialDelayMs' must not be negative; got {retry.InitialDelayMs}.");
        }

        if (retry.Multiplier < 1.0 || double.IsNaN(retry.Multiplier))
        {
            failures.Add($"Setting '{s}:Retry:Multiplier' must be at least 1; got {retry.Multiplier}.");
        }

        if (retry.MaxDelayMs < retry.InitialDelayMs)
        {
            failures.Add($"Setting '{s}:Retry:MaxDelayMs' must be at least '{s}:Retry:InitialDelayMs'; got {retry.MaxDelayMs}.");
        }

        if (retry.MaxPollDelayMs < 0)
        {
            failures.Add($"Setting '{s}:Retry:MaxPollDelayMs' must not be negative; got {retry.MaxPollDelayMs}.");
        }

        if (retry.DeadlineSeconds is < 1 or > 86_400)
        {
            failures.Add($"Setting '{s}:Retry:DeadlineSeconds' must be between 1 and 86400; got {retry.DeadlineSeconds}.");
        }

        if (retry.MaxJobRetries is < 0 or > 20)
        {
            failures.Add($"Setting '{s}:Retry:MaxJobRetries' must be between 0 and 20; got {retry.MaxJobRetries}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    // Project ids are 6–30 characters of lowercase letters, digits and hyphens; legacy domain-scoped ids carry "domain:".
    private static bool IsProjectId(string value) =>
        value.Length <= 100 && value.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or ':' or '.');
}
