namespace Insights.Tenancy;

/// <summary>At start, registers this node's stores in <c>catalog.stores</c>, where placement counts tenants.</summary>
internal sealed class StoreRegistration(CatalogDatabase catalog, TenantDatabases databases) : IAfterCatalogMigration
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await using var register = catalog.CreateCommand($"INSERT INTO {TenantRows.Stores} (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING");
        register.Parameters.Add(new NpgsqlParameter { Value = databases.StoreNames.ToArray() });
        await register.ExecuteNonQueryAsync(cancellationToken);
    }
}
