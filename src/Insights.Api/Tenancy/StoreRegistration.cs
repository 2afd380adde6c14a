using Insights.Database;
using Npgsql;

namespace Insights.Tenancy;

/// <summary>Registers this node's stores in <c>catalog.stores</c> at start: placement counts tenants per store from those rows.</summary>
internal sealed class StoreRegistration(CatalogDatabase catalog, TenantDatabases databases) : IAfterCatalogMigration
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await using var register = catalog.CreateCommand($"INSERT INTO {TenantRows.Stores} (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING");
        register.Parameters.Add(new NpgsqlParameter { Value = databases.StoreNames.ToArray() });
        await register.ExecuteNonQueryAsync(cancellationToken);
    }
}
