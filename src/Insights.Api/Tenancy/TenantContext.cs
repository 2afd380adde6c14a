namespace Insights.Tenancy;

/// <summary>
/// The tenant of the current request, resolved once from the validated token. Tenant-scoped code takes its
/// schema from here, never from input.
/// </summary>
public sealed class TenantContext
{
    private TenantInfo? current;

    public TenantInfo Current => current ?? throw new InvalidOperationException("No tenant was resolved for this request.");

    public bool IsResolved => current is not null;

    internal void Set(TenantInfo tenant) => current = tenant;
}
