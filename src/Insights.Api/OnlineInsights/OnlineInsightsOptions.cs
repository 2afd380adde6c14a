namespace Insights.OnlineInsights;

/// <summary>Online insights (section <c>OnlineInsights</c>).</summary>
public sealed class OnlineInsightsOptions : IValidatableObject
{
    public const string Section = "OnlineInsights";

    /// <summary>How long the api node waits for a worker's answer before it answers 504.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:05:00", ErrorMessage = "Setting 'OnlineInsights:Timeout' must be between 50 ms and 5 minutes.")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Requests the worker endpoint fetches ahead from the broker.</summary>
    [Range(1, 1000, ErrorMessage = "Setting 'OnlineInsights:PrefetchCount' must be between 1 and 1000.")]
    public int PrefetchCount { get; set; } = 64;

    /// <summary>
    /// Stored lookups one worker runs at once (each a short query on a database connection). A few keep a worker busy;
    /// each one more wakes one more reader in vain at every request
    /// (docs/decisions/0007-online-request-reply-tuned-for-waiting-callers.md).
    /// </summary>
    [Range(1, 256, ErrorMessage = "Setting 'OnlineInsights:ConcurrentMessageLimit' must be between 1 and 256.")]
    public int ConcurrentMessageLimit { get; set; } = 4;

    /// <summary>Live answers one worker waits for at once (each waits on a query of the live source).</summary>
    [Range(1, 256, ErrorMessage = "Setting 'OnlineInsights:LiveConcurrentMessageLimit' must be between 1 and 256.")]
    public int LiveConcurrentMessageLimit { get; set; } = 32;

    /// <summary>
    /// The GoogleSQL query of <c>live</c> insights, replacing the default one. It must bind <c>@tenantId</c> and should
    /// use <c>@insight</c>, <c>@key</c>, <c>@filter</c>, <c>@dateFrom</c>, <c>@dateTo</c> (null when not asked) and
    /// return the source table's columns, best row first. <c>{table}</c> is replaced by
    /// <c>Ingestion:BigQuery:Table</c>. Request parameters named in the template as <c>@name</c> are bound as strings.
    /// </summary>
    public string? LiveQueryTemplate { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!string.IsNullOrWhiteSpace(LiveQueryTemplate) && !LiveQueryTemplate.Contains("@tenantId", StringComparison.Ordinal))
        {
            yield return new ValidationResult("Setting 'OnlineInsights:LiveQueryTemplate' must use the parameter @tenantId.");
        }
    }
}
