namespace Insights.Tenancy;

/// <summary>A PostgreSQL database that holds tenant schemas, as <c>GET /stores</c> shows it.</summary>
/// <param name="Name">The store's name in the settings (<c>main</c>: the catalog's database).</param>
/// <param name="Tenants">Tenants whose schema is on it.</param>
/// <param name="Bytes">The database's size (null when it did not answer).</param>
/// <param name="Configured">Whether this node's settings name it; tenants on a store no node names go unserved.</param>
public sealed record StoreResponse(string Name, long Tenants, long? Bytes, bool Configured);
