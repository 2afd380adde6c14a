using System.Globalization;
using Npgsql;

namespace Insights.Benchmarks;

/// <summary>Private memory of the PostgreSQL backends serving one database, summed over its client backends.</summary>
internal sealed record BackendMemory(int Backends, long PrivateDirtyBytes, long PssBytes, long MaxPrivateDirtyBytes);

/// <summary>
/// A fresh database for one run, dropped at the end. The server must run on this machine: backend memory is read
/// from <c>/proc</c>.
/// </summary>
internal sealed class BenchDatabase : IAsyncDisposable
{
    private readonly NpgsqlDataSource admin;
    private readonly bool keep;

    private BenchDatabase(NpgsqlDataSource admin, string name, string connectionString, string serverVersion, bool keep = false)
    {
        this.admin = admin;
        Name = name;
        ConnectionString = connectionString;
        ServerVersion = serverVersion;
        this.keep = keep;
    }

    public string Name { get; }

    public string ServerVersion { get; }

    /// <summary>The administrative connection string pointed at this database.</summary>
    public string ConnectionString { get; }

    public static async Task<BenchDatabase> CreateAsync(string adminConnectionString)
    {
        var name = "insights_bench_" + Guid.NewGuid().ToString("N")[..12];
        var admin = NpgsqlDataSource.Create(adminConnectionString);
        string version;
        try
        {
            await using var create = admin.CreateCommand($"CREATE DATABASE \"{name}\"");
            await create.ExecuteNonQueryAsync();
            await using var show = admin.CreateCommand("SHOW server_version");
            version = (string)(await show.ExecuteScalarAsync())!;
        }
        catch
        {
            await admin.DisposeAsync();
            throw;
        }

        var connectionString = new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = name }.ConnectionString;
        return new BenchDatabase(admin, name, connectionString, version);
    }

    /// <summary>
    /// The database <paramref name="name"/>, created when missing and kept at the end: a scenario that needs a large
    /// fleet builds it once and finds it again in the next run.
    /// </summary>
    public static async Task<BenchDatabase> OpenOrCreateAsync(string adminConnectionString, string name)
    {
        var admin = NpgsqlDataSource.Create(adminConnectionString);
        try
        {
            await using (var exists = admin.CreateCommand("SELECT count(*) FROM pg_database WHERE datname = $1"))
            {
                exists.Parameters.Add(new NpgsqlParameter { Value = name });
                if ((long)(await exists.ExecuteScalarAsync())! == 0)
                {
                    await using var create = admin.CreateCommand($"CREATE DATABASE \"{name}\"");
                    await create.ExecuteNonQueryAsync();
                }
            }

            await using var show = admin.CreateCommand("SHOW server_version");
            var version = (string)(await show.ExecuteScalarAsync())!;
            var connectionString = new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = name }.ConnectionString;
            return new BenchDatabase(admin, name, connectionString, version, keep: true);
        }
        catch
        {
            await admin.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sums the private memory and the proportional set size of the client backends of this database.</summary>
    public async Task<BackendMemory> MeasureBackendsAsync()
    {
        var pids = new List<int>();
        await using (var command = admin.CreateCommand("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'"))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = Name });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                pids.Add(reader.GetInt32(0));
            }
        }

        long privateDirty = 0, pss = 0, max = 0;
        foreach (var pid in pids)
        {
            var (dirty, proportional) = await ReadMemoryAsync(pid);
            privateDirty += dirty;
            pss += proportional;
            max = Math.Max(max, dirty);
        }

        return new BackendMemory(pids.Count, privateDirty, pss, max);
    }

    /// <summary>Opens the connection of the raw SQL baseline of provisioning; see <see cref="RawSchemas"/>.</summary>
    public async Task<RawSchemas> OpenRawSchemasAsync(IEnumerable<string> newSchemaSql)
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        return new RawSchemas(connection, newSchemaSql);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (keep)
            {
                return;
            }

            await using var drop = admin.CreateCommand($"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)");
            await drop.ExecuteNonQueryAsync();
        }
        finally
        {
            await admin.DisposeAsync();
        }
    }

    /// <summary>
    /// <c>Private_Dirty</c> and <c>Pss</c> from <c>smaps_rollup</c>; where that is not readable (another user's
    /// process), <c>RssAnon</c> and <c>VmRSS</c> from <c>status</c>, which overstates the shared part.
    /// </summary>
    private static async Task<(long Private, long Proportional)> ReadMemoryAsync(int pid)
    {
        try
        {
            var rollup = await ReadFieldsAsync($"/proc/{pid}/smaps_rollup");
            return (rollup.GetValueOrDefault("Private_Dirty"), rollup.GetValueOrDefault("Pss"));
        }
        catch (UnauthorizedAccessException)
        {
            var status = await ReadFieldsAsync($"/proc/{pid}/status");
            return (status.GetValueOrDefault("RssAnon"), status.GetValueOrDefault("VmRSS"));
        }
        catch (IOException)
        {
            // The backend ended between the query and the read.
            return (0, 0);
        }
    }

    /// <summary>The "Name:   123 kB" lines of a <c>/proc</c> file, in bytes.</summary>
    private static async Task<Dictionary<string, long>> ReadFieldsAsync(string path)
    {
        var fields = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in await File.ReadAllLinesAsync(path))
        {
            var parts = line.Split([':', ' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (parts is [var name, var value, "kB"] && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var kilobytes))
            {
                fields[name] = kilobytes * 1024;
            }
        }

        return fields;
    }
}

/// <summary>
/// The floor that provisioning through the API is compared with: the cheapest DDL of the same schema, i.e.
/// <c>CREATE SCHEMA</c> and the SQL provisioning runs for a new schema (the tenant baseline, and any tenant migration
/// newer than it) as one command in one transaction, on one open connection.
/// </summary>
internal sealed class RawSchemas(NpgsqlConnection connection, IEnumerable<string> newSchemaSql) : IAsyncDisposable
{
    private readonly string sql = string.Join("\n", newSchemaSql.Select(script => script.TrimEnd().EndsWith(';') ? script : script.TrimEnd() + ";"));
    private int count;

    /// <summary>Builds the next schema and returns its time in milliseconds.</summary>
    public Task<double> CreateAsync()
    {
        var schema = "\"raw_" + (++count).ToString("D5", CultureInfo.InvariantCulture) + "\"";
        return Timing.MeasureAsync(async () =>
        {
            await using var transaction = await connection.BeginTransactionAsync();
            await using (var create = new NpgsqlCommand($"CREATE SCHEMA {schema};\n{sql.Replace("$schema$", schema, StringComparison.Ordinal)}", connection, transaction))
            {
                await create.ExecuteNonQueryAsync();
            }

            await transaction.CommitAsync();
        });
    }

    public ValueTask DisposeAsync() => connection.DisposeAsync();
}
