namespace Insights.BigQuery;

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

    // Project ids: 6–30 lowercase letters, digits and hyphens; legacy domain-scoped ids carry "domain:".
    private static bool IsProjectId(string value) =>
        value.Length <= 100 && value.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or ':' or '.');
}
