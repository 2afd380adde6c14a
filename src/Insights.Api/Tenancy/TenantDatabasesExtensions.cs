namespace Insights.Tenancy;

public static class TenantDatabasesExtensions
{
    /// <summary>The tenant's schema on its store, bound to the pool of its lane.</summary>
    public static TenantDatabase For(this TenantDatabases databases, TenantInfo tenant) => databases.For(tenant.Store, tenant.Schema);
}
