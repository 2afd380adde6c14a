namespace Insights.Audit;

/// <summary>
/// What an audited request adds to its record (one per request): the tenant when the route does not name it, a detail,
/// and whether the handler already wrote the record inside its own transaction.
/// </summary>
public sealed class AuditScope
{
    private AuditActor? actor;

    /// <summary>The caller; set before the handler runs.</summary>
    public AuditActor Actor
    {
        get => actor ?? throw new InvalidOperationException("The endpoint is not audited (.Audited(...)).");
        internal set => actor = value;
    }

    /// <summary>A more precise name of the action than the endpoint's (suspending through the edit endpoint).</summary>
    public string? Action { get; set; }

    public string? TenantId { get; set; }
    public string? Detail { get; set; }

    /// <summary>Set when the handler committed the record with its own work.</summary>
    public bool Written { get; set; }
}
