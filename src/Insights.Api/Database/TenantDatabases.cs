using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Insights.Database;

/// <summary>
/// The one place that chooses the PostgreSQL connection of a statement: catalog work goes to <see cref="Catalog"/>,
/// a tenant's statements to the <see cref="TenantDatabase"/> of its lane (<see cref="For(string, SchemaName)"/>).
/// Lanes are a stable hash of the schema name, so a backend caches only its lane's share of the fleet
/// (docs/decisions/0011-tenant-affine-connection-lanes.md).
/// </summary>
/// <remarks>
/// Tenants live on stores (<see cref="TenantStoreSettings"/>): each store has its lanes, and a tenant's statements run
/// on its lane of its store; no tenant statement runs on the catalog's pool or on another lane's.
/// </remarks>
public sealed class TenantDatabases : IAsyncDisposable
{
    private readonly Dictionary<string, Store> stores = new(StringComparer.Ordinal);
    private readonly int laneCount;

    /// <summary>One store, <c>main</c>, in the catalog's database.</summary>
    public TenantDatabases(CatalogDatabase catalog, string connectionString, int laneCount, int lanePoolSize, ILoggerFactory? loggerFactory = null)
        : this(catalog, new Dictionary<string, string> { [TenantStoreSettings.Main] = connectionString }, laneCount, lanePoolSize, loggerFactory)
    {
    }

    /// <summary>
    /// Lanes on every store of <paramref name="storeConnectionStrings"/> (name → connection string; <c>main</c> is
    /// the catalog's database).
    /// </summary>
    public TenantDatabases(
        CatalogDatabase catalog, IReadOnlyDictionary<string, string> storeConnectionStrings, int laneCount, int lanePoolSize, ILoggerFactory? loggerFactory = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(laneCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(lanePoolSize, 1);
        if (!storeConnectionStrings.ContainsKey(TenantStoreSettings.Main))
        {
            throw new ArgumentException($"The stores must include '{TenantStoreSettings.Main}'.", nameof(storeConnectionStrings));
        }

        Catalog = catalog;
        this.laneCount = laneCount;
        foreach (var (name, connectionString) in storeConnectionStrings)
        {
            var applicationName = new NpgsqlConnectionStringBuilder(connectionString).ApplicationName is { Length: > 0 } given ? given : "insights";
            // The main store's lanes keep their short names; another store's name its store.
            var prefix = name == TenantStoreSettings.Main ? applicationName : $"{applicationName}-{name}";
            var lanes = new NpgsqlDataSource[laneCount];
            for (var lane = 0; lane < laneCount; lane++)
            {
                lanes[lane] = Build(connectionString, LaneName(prefix, lane), lanePoolSize, loggerFactory);
            }

            // Store-wide work (its size, its notifications) on the main store is catalog work; elsewhere a small pool.
            var admin = name == TenantStoreSettings.Main ? null : Build(connectionString, prefix, 4, loggerFactory);
            stores[name] = new Store(lanes, new StoreDatabase(name, admin ?? catalog.DataSource), admin is not null);
        }
    }

    private static NpgsqlDataSource Build(string connectionString, string name, int poolSize, ILoggerFactory? loggerFactory)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        DatabaseSetup.ApplyDefaults(builder.ConnectionStringBuilder, connectionString);
        builder.ConnectionStringBuilder.MaxPoolSize = poolSize;
        // Idle lane connections are pruned: keeping them warm cost more memory than the reads gained
        // (docs/decisions/0011-tenant-affine-connection-lanes.md).
        builder.ConnectionStringBuilder.MinPoolSize = 0;
        builder.ConnectionStringBuilder.ApplicationName = name;
        builder.Name = name;
        DatabaseSetup.LoadSystemTypesOnly(builder);
        if (loggerFactory is not null)
        {
            builder.UseLoggerFactory(loggerFactory);
        }

        return builder.Build();
    }

    /// <summary>The catalog: tenants, runs, definitions, the outbox, admin work.</summary>
    public CatalogDatabase Catalog { get; }

    public int LaneCount => laneCount;

    /// <summary>The stores' names, <c>main</c> first.</summary>
    public IReadOnlyList<string> StoreNames =>
        [TenantStoreSettings.Main, .. stores.Keys.Where(n => n != TenantStoreSettings.Main).Order(StringComparer.Ordinal)];

    public bool HasStore(string store) => stores.ContainsKey(store);

    /// <summary>A store, for store-wide statements (not a tenant's); <c>main</c> uses the catalog's pool.</summary>
    public StoreDatabase StoreWide(string store) => StoreOf(store).Wide;

    /// <summary>The catalog's pool and every lane's, to renew them all.</summary>
    private IEnumerable<NpgsqlDataSource> All =>
        stores.Values.SelectMany(store => store.OwnsWide ? store.Lanes.Append(store.Wide.DataSource) : store.Lanes).Prepend(Catalog.DataSource);

    /// <summary>A tenant's lane: the first four bytes of its schema name's SHA-256, modulo the lanes.</summary>
    public static int LaneOf(SchemaName schema, int laneCount)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(schema.Value), hash);
        return (int)(BinaryPrimitives.ReadUInt32BigEndian(hash) % (uint)laneCount);
    }

    /// <summary>A lane's <c>application_name</c> and pool name, as <c>pg_stat_activity</c> shows them.</summary>
    public static string LaneName(string applicationName, int lane) => $"{applicationName}-lane-{lane:D2}";

    public int LaneOf(SchemaName schema) => LaneOf(schema, laneCount);

    /// <summary>The tenant's schema on its store, bound to its lane's pool: every statement on the schema.</summary>
    public TenantDatabase For(string store, SchemaName schema) => new(store, schema, StoreOf(store).Lanes[LaneOf(schema)]);

    private Store StoreOf(string store) =>
        stores.TryGetValue(store, out var found)
            ? found
            : throw new TenantStoreUnknownException(store);

    /// <summary>Closes the idle connections of every pool; busy ones close when returned.</summary>
    public void ClearAll()
    {
        foreach (var dataSource in All)
        {
            dataSource.Clear();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var dataSource in All.Skip(1))
        {
            await dataSource.DisposeAsync();
        }
    }

    /// <summary>
    /// A store's lane pools and its store-wide database, with a pool of its own (<c>OwnsWide</c>) or the catalog's.
    /// </summary>
    private sealed record Store(NpgsqlDataSource[] Lanes, StoreDatabase Wide, bool OwnsWide);
}
