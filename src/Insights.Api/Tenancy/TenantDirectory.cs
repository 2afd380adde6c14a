using Microsoft.Extensions.Caching.Memory;

namespace Insights.Tenancy;

/// <summary>
/// Looks tenants up for authorization, cached so a client's requests cost no catalog lookup: every tenant change
/// notifies the nodes at its commit and each drops its entry (everything, when its listener was lost);
/// <see cref="CacheFor"/> bounds the rest.
/// </summary>
public sealed class TenantDirectory(CatalogDatabase dataSource, IMemoryCache cache) : IDisposable
{
    /// <summary>Cancelled to drop every cached entry at once; replaced by a fresh one each time.</summary>
    private CancellationTokenSource generation = new();

    public static readonly TimeSpan CacheFor = TimeSpan.FromMinutes(5);

    /// <summary>The notification channel of tenant changes; the payload is the tenant id.</summary>
    public const string Channel = "insights_tenants";

    private const string FindSql = "SELECT id, name, status, schema_name, store FROM catalog.tenants WHERE id = $1";

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
            tenant = new TenantInfo(reader.GetString(0), reader.GetString(1), reader.GetString(2), SchemaName.Parse(reader.GetString(3)), reader.GetString(4));
        }

        using (var entry = cache.CreateEntry(Key(tenantId)))
        {
            entry.Value = tenant;
            entry.AbsoluteExpirationRelativeToNow = CacheFor;
            entry.AddExpirationToken(new Microsoft.Extensions.Primitives.CancellationChangeToken(Volatile.Read(ref generation).Token));
        }

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

    /// <summary>At the commit of <paramref name="transaction"/>, every node drops its entry of the tenant.</summary>
    public static Task NotifyChangedAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string tenantId, CancellationToken cancellationToken) =>
        Database.DatabaseNotifications.NotifyAsync(connection, transaction, Channel, tenantId, cancellationToken);

    /// <summary>Drops every entry: changes announced while the bus or listener was away may be missed.</summary>
    public void EvictAll()
    {
        using var previous = Interlocked.Exchange(ref generation, new CancellationTokenSource());
        previous.Cancel();
    }

    public void Dispose() => generation.Dispose();

    private static string Key(string tenantId) => "tenant:" + tenantId;
}
