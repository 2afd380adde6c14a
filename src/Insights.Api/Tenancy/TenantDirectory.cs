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

    public void Evict(string tenantId) => cache.Remove(Key(tenantId));

    private static string Key(string tenantId) => "tenant:" + tenantId;
}
