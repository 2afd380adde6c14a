namespace Insights.Database;

/// <summary>
/// A store for statements about the store itself rather than one tenant: its <c>insights_store</c> tables, its size,
/// its notifications. On <c>main</c> these share the catalog's pool.
/// </summary>
public sealed class StoreDatabase : PostgresDatabase
{
    internal StoreDatabase(string name, NpgsqlDataSource dataSource)
        : base(dataSource) => Name = name;

    public string Name { get; }
}
