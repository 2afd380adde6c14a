using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Claims;
using Insights.Auth;
using Microsoft.IdentityModel.Tokens;

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

    private BenchHost(BenchDatabase database, HostProcess host, DirectoryInfo keyFolder, RsaSecurityKey key, Dictionary<string, string> environment)
    {
        Database = database;
        Host = host;
        this.keyFolder = keyFolder;
        this.key = key;
        this.environment = environment;
        AdminToken = Mint([new Claim("sub", "bench-admin"), new Claim(identity.RoleClaim, identity.AdminRole)]);
    }

    public BenchDatabase Database { get; }

    public HostProcess Host { get; }

    public string AdminToken { get; }

    public static string PostgresSetting() =>
        Setting("INSIGHTS_BENCH_POSTGRES") ?? Setting("INSIGHTS_TEST_POSTGRES") ?? DefaultPostgres;

    public static async Task<BenchHost> StartAsync(IReadOnlyDictionary<string, string>? extra = null)
    {
        var database = await BenchDatabase.CreateAsync(PostgresSetting());
        var keyFolder = Directory.CreateTempSubdirectory("insights-bench-");
        var keyPath = Path.Combine(keyFolder.FullName, "dev-signing-key.pem");
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["ConnectionStrings__Insights"] = database.ConnectionString,
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
        return new BenchHost(database, host, keyFolder, key, environment);
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

    public static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";

    private string Mint(IEnumerable<Claim> claims) => DevelopmentKey.Mint(key, identity, claims, TimeSpan.FromHours(4));

    private static string? Setting(string name) =>
        Environment.GetEnvironmentVariable(name) is { } value && !string.IsNullOrWhiteSpace(value) ? value : null;
}
