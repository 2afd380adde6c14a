using Microsoft.Extensions.Caching.Memory;
using Npgsql;

namespace Insights.Tenancy;

/// <summary>
/// Looks tenants up for authorization. Answers are cached briefly; a change made on this node evicts its entry
/// at once, a change made on another node is seen within <see cref="CacheFor"/>.
/// </summary>
public sealed class TenantDirectory(NpgsqlDataSource dataSource, IMemoryCache cache)
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);

    private const string FindSql = "SELECT id, name, status, schema_name FROM catalog.tenants WHERE id = $1";

    public async Task<TenantInfo?> FindAsync(string tenantId, CancellationToken cancellationToken)
    {
        if (cache.TryGetValue(Key(tenantId), out TenantInfo? cached))
        {
            return cached;
        }

        await using var command = dataSource.CreateCommand(FindSql);
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        TenantInfo? tenant = null;
        if (await reader.ReadAsync(cancellationToken))
        {
            tenant = new TenantInfo(reader.GetString(0), reader.GetString(1), reader.GetString(2), SchemaName.Parse(reader.GetString(3)));
        }

        cache.Set(Key(tenantId), tenant, CacheFor);
        return tenant;
    }

    /// <summary>
    /// The tenant an admin route names, when it exists with a usable schema (active or suspended); null for an
    /// invalid id, an unknown tenant, or one being provisioned or deprovisioned, which the routes answer with 404.
    /// </summary>
    public async Task<TenantInfo?> FindExistingAsync(string tenantId, CancellationToken cancellationToken) =>
        TenantId.IsValid(tenantId) && await FindAsync(tenantId, cancellationToken) is { Status: TenantStatus.Active or TenantStatus.Suspended } tenant
            ? tenant
            : null;

    public void Evict(string tenantId) => cache.Remove(Key(tenantId));

    private static string Key(string tenantId) => "tenant:" + tenantId;
}
