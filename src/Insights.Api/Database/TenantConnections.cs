using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Insights.Tenancy;
using Npgsql;

namespace Insights.Database;

/// <summary>
/// The one place that chooses the PostgreSQL connection of a statement. Catalog and admin work uses the catalog's
/// pool; a tenant's statements use the pool of the tenant's lane. Tenants map to lanes by a stable hash of their schema
/// name (the same on every node and across restarts, for a given number of lanes), so a PostgreSQL backend only ever
/// meets the tenants of one lane: what a backend caches per tenant it touched (relations, plans, ~17 KB each) is
/// bounded by the lane's share of the fleet, not by the fleet.
/// </summary>
/// <remarks>
/// A tenant's transaction runs on its lane's connection, catalog statements of that transaction included (the catalog
/// lives in the same database); no tenant statement runs on the catalog's pool or on another lane's.
/// </remarks>
public sealed class TenantConnections : IAsyncDisposable
{
    private readonly NpgsqlDataSource[] lanes;

    public TenantConnections(NpgsqlDataSource catalog, string connectionString, int laneCount, int lanePoolSize, ILoggerFactory? loggerFactory = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(laneCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(lanePoolSize, 1);
        Catalog = catalog;
        var applicationName = new NpgsqlConnectionStringBuilder(connectionString).ApplicationName is { Length: > 0 } given ? given : "insights";
        lanes = new NpgsqlDataSource[laneCount];
        for (var lane = 0; lane < laneCount; lane++)
        {
            var builder = new NpgsqlDataSourceBuilder(connectionString);
            DatabaseSetup.ApplyDefaults(builder.ConnectionStringBuilder, connectionString);
            builder.ConnectionStringBuilder.MaxPoolSize = lanePoolSize;
            // Idle lane connections are pruned as usual. Keeping them all (a minimum pool of the lane's size) kept every
            // backend warm with its lane's tenants but cost ~40 % more PostgreSQL memory at 10,000 tenants (913 MB →
            // 1.24–1.58 GB) for 7 % less processor time per read: measured, and not worth it.
            builder.ConnectionStringBuilder.MinPoolSize = 0;
            builder.ConnectionStringBuilder.ApplicationName = LaneName(applicationName, lane);
            builder.Name = LaneName(applicationName, lane);
            DatabaseSetup.LoadSystemTypesOnly(builder);
            if (loggerFactory is not null)
            {
                builder.UseLoggerFactory(loggerFactory);
            }

            lanes[lane] = builder.Build();
        }
    }

    /// <summary>The catalog's pool: tenants, runs, definitions, the outbox, admin work.</summary>
    public NpgsqlDataSource Catalog { get; }

    public int LaneCount => lanes.Length;

    /// <summary>The catalog's pool and every lane's, to renew them all.</summary>
    public IEnumerable<NpgsqlDataSource> All => lanes.Prepend(Catalog);

    /// <summary>The lane of a tenant among <paramref name="laneCount"/>: the first four bytes of the SHA-256 of its schema name.</summary>
    public static int LaneOf(SchemaName schema, int laneCount)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(schema.Value), hash);
        return (int)(BinaryPrimitives.ReadUInt32BigEndian(hash) % (uint)laneCount);
    }

    /// <summary>The <c>application_name</c> (and pool name) of a lane's connections, as <c>pg_stat_activity</c> shows them.</summary>
    public static string LaneName(string applicationName, int lane) => $"{applicationName}-lane-{lane:D2}";

    public int LaneOf(SchemaName schema) => LaneOf(schema, lanes.Length);

    /// <summary>The pool of the tenant's lane, for every statement that touches the tenant's schema.</summary>
    public NpgsqlDataSource For(SchemaName schema) => lanes[LaneOf(schema)];

    public NpgsqlDataSource For(TenantInfo tenant) => For(tenant.Schema);

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
        foreach (var lane in lanes)
        {
            await lane.DisposeAsync();
        }
    }
}
