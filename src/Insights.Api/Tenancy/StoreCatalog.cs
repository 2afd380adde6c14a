using Microsoft.EntityFrameworkCore;

namespace Insights.Tenancy;

/// <summary>The tenant stores: which ones there are, how full, and where a new tenant goes.</summary>
public sealed class StoreCatalog(CatalogContexts catalog, TenantDatabases connections, ILogger<StoreCatalog> logger)
{
    /// <summary>Every store this node names or that the catalog counts tenants on, <c>main</c> first.</summary>
    public async Task<IReadOnlyList<StoreResponse>> ListAsync(CancellationToken cancellationToken)
    {
        var counted = await CountsAsync(cancellationToken);
        var names = connections.StoreNames.Concat(counted.Keys.Where(n => !connections.HasStore(n)).Order(StringComparer.Ordinal));
        var stores = new List<StoreResponse>();
        foreach (var name in names)
        {
            long? bytes = null;
            if (connections.HasStore(name))
            {
                try
                {
                    await using var size = connections.StoreWide(name).CreateCommand("SELECT pg_database_size(current_database())");
                    bytes = (long)(await size.ExecuteScalarAsync(cancellationToken))!;
                }
                catch (NpgsqlException e)
                {
                    logger.LogWarning(e, "Tenant store {Store} did not answer for its size", name);
                }
            }

            stores.Add(new StoreResponse(name, counted.GetValueOrDefault(name), bytes, connections.HasStore(name)));
        }

        return stores;
    }

    /// <summary>
    /// A tenant's count moved from one store to another: <paramref name="from"/> null for a tenant placed for the first
    /// time. The two must differ.
    /// </summary>
    internal static NpgsqlBatchCommand CountMoved(string? from, string to) =>
        new("UPDATE catalog.stores SET tenants = tenants + CASE WHEN name = $2 THEN 1 ELSE -1 END WHERE name IN ($1, $2)")
        {
            Parameters = { new() { Value = (object?)from ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text }, new() { Value = to } },
        };

    /// <summary>Tenants per store, from the catalog's count (one row per store).</summary>
    private async Task<Dictionary<string, long>> CountsAsync(CancellationToken cancellationToken)
    {
        await using var context = await catalog.CreateAsync(cancellationToken);
        return await context.Set<StoreRow>().AsNoTracking().ToDictionaryAsync(s => s.Name, s => (long)s.Tenants, StringComparer.Ordinal, cancellationToken);
    }
}
