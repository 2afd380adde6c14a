namespace Insights.Database;

/// <summary>
/// One PostgreSQL database as the service reaches it: the catalog (<see cref="CatalogDatabase"/>), a store's own tables
/// (<see cref="StoreDatabase"/>) or a tenant's schema on its lane (<see cref="TenantDatabase"/>). The pool behind it
/// stays inside this folder; callers get connections, commands and batches.
/// </summary>
public abstract class PostgresDatabase
{
    private protected PostgresDatabase(NpgsqlDataSource dataSource) => DataSource = dataSource;

    internal NpgsqlDataSource DataSource { get; }

    public ValueTask<NpgsqlConnection> OpenConnectionAsync(CancellationToken cancellationToken = default) =>
        DataSource.OpenConnectionAsync(cancellationToken);

    public NpgsqlConnection CreateConnection() => DataSource.CreateConnection();

    public NpgsqlCommand CreateCommand(string? commandText = null) => DataSource.CreateCommand(commandText);

    public NpgsqlBatch CreateBatch() => DataSource.CreateBatch();
}
