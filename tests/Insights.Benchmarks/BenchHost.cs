using System.Data.Common;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Claims;
using Insights.Auth;
using Microsoft.Extensions.Configuration;
using Microsoft.IdentityModel.Tokens;
using Npgsql;

namespace Insights.Benchmarks;

/// <summary>A database of its own, the host as a child process on it, and tokens the host accepts.</summary>
internal sealed class BenchHost : IAsyncDisposable
{
    private const string DefaultPostgres = "Host=127.0.0.1;Port=5432;Database=insights;Username=insights;Password=insights";

    private readonly DirectoryInfo keyFolder;
    private readonly RsaSecurityKey key;
    private readonly FluigIdentityOptions identity = new();
    private readonly Dictionary<string, string> environment;
    private readonly List<HostProcess> others = [];

    private static readonly HashSet<string> IdentityKeywords = new(StringComparer.OrdinalIgnoreCase)
    {
        "host", "server", "port", "database", "db", "username", "user name", "userid", "user id", "uid", "password", "psw", "pwd",
    };

    private BenchHost(
        BenchDatabase database, string connectionString, HostProcess host, DirectoryInfo keyFolder, RsaSecurityKey key, Dictionary<string, string> environment)
    {
        Database = database;
        ConnectionString = connectionString;
        Host = host;
        this.keyFolder = keyFolder;
        this.key = key;
        this.environment = environment;
        AdminToken = Mint([new Claim("sub", "bench-admin"), new Claim(identity.RoleClaim, identity.AdminRole)]);
    }

    public BenchDatabase Database { get; }

    /// <summary>
    /// The host's connection string: the bench database with the pool and statement settings of the shipped
    /// <c>appsettings.json</c> (and <c>--connection</c>). Raw-SQL baselines use it too, so both sides run alike.
    /// </summary>
    public string ConnectionString { get; }

    public HostProcess Host { get; }

    public string AdminToken { get; }

    /// <summary>The process ids of every host this bench started.</summary>
    public int[] HostIds => [Host.Id, .. others.Select(o => o.Id)];

    public static string PostgresSetting() =>
        Setting("INSIGHTS_BENCH_POSTGRES") ?? Setting("INSIGHTS_TEST_POSTGRES") ?? DefaultPostgres;

    public static async Task<BenchHost> StartAsync(
        IReadOnlyDictionary<string, string>? extra = null, string? connectionOverrides = null, BenchDatabase? existing = null)
    {
        var database = existing ?? await BenchDatabase.CreateAsync(PostgresSetting());
        var (connectionString, settings) = HostConnectionString(database.ConnectionString, connectionOverrides);
        Console.Error.WriteLine($"database {database.Name}; connection options: {settings}");
        var keyFolder = Directory.CreateTempSubdirectory("insights-bench-");
        var keyPath = Path.Combine(keyFolder.FullName, "dev-signing-key.pem");
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["ConnectionStrings__Insights"] = connectionString,
            ["Bus__Transport"] = "InMemory",
            ["Authentication__DevelopmentKeyPath"] = keyPath,
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Microsoft.AspNetCore.Hosting.Diagnostics"] = "Warning",
        };
        foreach (var (name, value) in extra ?? new Dictionary<string, string>())
        {
            environment[name] = value;
        }

        var key = DevelopmentKey.LoadOrCreate(keyPath);
        var host = await HostProcess.StartAsync(environment, TimeSpan.FromSeconds(90));
        return new BenchHost(database, connectionString, host, keyFolder, key, environment);
    }

    /// <summary>Another host process on the same database and signing key, with <paramref name="overrides"/> (e.g. other roles).</summary>
    public async Task<HostProcess> StartAnotherAsync(IReadOnlyDictionary<string, string> overrides)
    {
        var settings = new Dictionary<string, string>(environment);
        foreach (var (name, value) in overrides)
        {
            settings[name] = value;
        }

        var host = await HostProcess.StartAsync(settings, TimeSpan.FromSeconds(90));
        others.Add(host);
        return host;
    }

    public string TenantToken(string tenantId) => Mint([new Claim("sub", "bench-" + tenantId), new Claim(identity.TenantClaim, tenantId)]);

    public HttpClient Client(string token)
    {
        var client = new HttpClient { BaseAddress = Host.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    public static async Task ProvisionAsync(HttpClient admin, string tenantId)
    {
        using var response = await admin.PostAsJsonAsync("/api/v1/tenants", new { id = tenantId, name = "Bench " + tenantId });
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"Provisioning {tenantId} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var other in others)
        {
            other.Dispose();
        }

        Host.Dispose();
        await Database.DisposeAsync();
        keyFolder.Delete(recursive: true);
    }

    /// <summary>
    /// The bench database's address and credentials with the pool settings of the shipped <c>appsettings.json</c>,
    /// then those given with <c>--connection</c>. Returns the connection string and the settings applied.
    /// </summary>
    public static (string ConnectionString, string Settings) HostConnectionString(string database, string? overrides)
    {
        var shipped = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .Build()
            .GetConnectionString("Insights");
        var settings = new DbConnectionStringBuilder { ConnectionString = shipped ?? "" };
        var extra = new DbConnectionStringBuilder { ConnectionString = overrides ?? "" };
        foreach (string key in extra.Keys)
        {
            settings[key] = extra[key];
        }

        foreach (var key in settings.Keys.Cast<string>().Where(IdentityKeywords.Contains).ToList())
        {
            settings.Remove(key);
        }

        var builder = new NpgsqlConnectionStringBuilder(database);
        foreach (string key in settings.Keys)
        {
            builder[key] = settings[key];
        }

        // What the host adds when the connection string leaves it out, so a raw baseline runs like the host.
        Insights.Database.DatabaseSetup.ApplyDefaults(builder, builder.ConnectionString);

        return (builder.ConnectionString, settings.ConnectionString + (overrides is null ? " (appsettings.json)" : " (appsettings.json + --connection)"));
    }

    /// <summary>The integer after <paramref name="name"/> on the command line, or <paramref name="fallback"/>.</summary>
    public static int Option(string[] args, string name, int fallback) =>
        int.TryParse(Argument(args, name), System.Globalization.CultureInfo.InvariantCulture, out var value) ? value : fallback;

    /// <summary>The value after <paramref name="name"/> on the command line, if any.</summary>
    public static string? Argument(string[] args, string name)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }

    private static bool checkpointRefused;

    /// <summary>
    /// A checkpoint before a measured phase: pages first written after a checkpoint are logged whole, so a phase that
    /// meets one (every few hundred thousand rows) pays for it and the next does not. Needs the role pg_checkpoint.
    /// </summary>
    public static async Task CheckpointAsync(string connectionString)
    {
        if (checkpointRefused)
        {
            return;
        }

        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("CHECKPOINT", connection) { CommandTimeout = 300 };
            await command.ExecuteNonQueryAsync();
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            checkpointRefused = true;
            Console.Error.WriteLine("bench: the database role may not CHECKPOINT (GRANT pg_checkpoint): phases may meet a checkpoint");
        }
    }

    public static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";

    private string Mint(IEnumerable<Claim> claims) => DevelopmentKey.Mint(key, identity, claims, TimeSpan.FromHours(4));

    public static string? Setting(string name) =>
        Environment.GetEnvironmentVariable(name) is { } value && !string.IsNullOrWhiteSpace(value) ? value : null;
}
