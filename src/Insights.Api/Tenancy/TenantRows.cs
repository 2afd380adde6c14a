namespace Insights.Tenancy;

/// <summary>
/// The tenant catalog's tables as other capabilities' statements name them, where one statement must join or filter on
/// them (the fleet's views and gauges, existence guards): the statement stays one round trip, and its dependency on the
/// owner shows in the code (docs/decisions/0021-typed-seams-and-one-owner-per-table.md).
/// </summary>
public static class TenantRows
{
    /// <summary>One row per tenant: <c>id, name, status, schema_name, store, created_at, …</c>.</summary>
    public const string Tenants = "catalog.tenants";

    /// <summary>One row per store: <c>name, tenants, added_at</c>.</summary>
    public const string Stores = "catalog.stores";
}
