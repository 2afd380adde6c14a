using Insights.Database;

namespace Insights.Tenancy;

public static class TenantStatus
{
    public const string Provisioning = "provisioning";
    public const string Active = "active";
    public const string Suspended = "suspended";
    public const string Deprovisioning = "deprovisioning";
    public const string Failed = "failed";

    public static readonly string[] All = [Provisioning, Active, Suspended, Deprovisioning, Failed];
}

/// <summary>What a tenant-scoped operation needs to know of its tenant: its schema, and the store that holds it.</summary>
public sealed record TenantInfo(string Id, string Name, string Status, SchemaName Schema, string Store = Database.TenantStoreSettings.Main);

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
