using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text;
using Insights.Auth;
using Insights.Tenancy;
using Microsoft.IdentityModel.Tokens;
using Npgsql;

namespace Insights.Benchmarks;

/// <summary>
/// Provisions N tenants through the API, one request at a time, touching each with a tenant-scoped read, and compares
/// latencies and memory (the host's, and the PostgreSQL backends') at a few tenants and at N. After each of the first and
/// the last few tenants the same schema is built with raw SQL, so that provisioning and its floor meet the same load on a
/// shared machine.
/// </summary>
internal static class TenantsScenario
{
    private const double ProvisioningTargetMs = 150;
    private const double ProvisioningRatioTarget = 1.5;
    private const double LatencyRatioTarget = 1.25;
    private const long HostGrowthTargetBytes = 100L * 1024 * 1024;
    private static readonly TimeSpan SettleBeforeRaw = TimeSpan.FromMilliseconds(100);

    public static async Task<int> RunAsync(string[] args)
    {
        if (!Options.TryParse(args, out var options, out var problem))
        {
            Console.Error.WriteLine($"tenants: {problem}");
            Console.Error.WriteLine(Options.Usage);
            return 2;
        }

        try
        {
            var report = await MeasureAsync(options);
            report.Print(Console.Out);
            return 0;
        }
        catch (Exception e) when (e is BenchmarkException or HttpRequestException or NpgsqlException or InvalidOperationException or TimeoutException or IOException)
        {
            Console.Error.WriteLine($"tenants: failed: {e.Message}");
            return 1;
        }
    }

    private static async Task<Report> MeasureAsync(Options options)
    {
        var postgres = BenchHost.PostgresSetting();
        var keyFolder = Directory.CreateTempSubdirectory("insights-bench-");
        try
        {
            await using var database = await BenchDatabase.CreateAsync(postgres);
            var (connectionString, poolSettings) = BenchHost.HostConnectionString(database.ConnectionString, options.Connection);
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
            var key = DevelopmentKey.LoadOrCreate(keyPath);

            Console.Error.WriteLine($"tenants: database {database.Name}; host connection options: {poolSettings}");
            var loadAtStart = BenchHost.LoadAverage();
            Point early, late;
            Spread? spread = null;
            var provisioning = new Provisioning(options);
            await using var raw = await database.OpenRawSchemasAsync(new TenantMigrator().NewSchemaSql());
            using (var host = await HostProcess.StartAsync(environment, TimeSpan.FromSeconds(90)))
            {
                using var http = new HttpClient { BaseAddress = host.BaseAddress };
                var api = new Api(http, key, new FluigIdentityOptions());
                var tenants = new List<string>(options.Tenants);
                var random = new Random(20261123);
                await ProvisionAsync(api, tenants, options.Early, provisioning, raw);
                early = await MeasurePointAsync(api, tenants, host, database, options, random);
                await ProvisionAsync(api, tenants, options.Tenants, provisioning, raw);
                late = await MeasurePointAsync(api, tenants, host, database, options, random);
                if (options.Readers > 0)
                {
                    spread = await SpreadAsync(api, tenants, host, database, options);
                }
            }

            var machine = $"{Environment.ProcessorCount} cores, load average (1 min) {loadAtStart} at start, {BenchHost.LoadAverage()} at end";
            return new Report(options, database.ServerVersion, poolSettings, machine, provisioning, early, late, spread);
        }
        finally
        {
            keyFolder.Delete(recursive: true);
        }
    }

    /// <summary>
    /// Provisions tenants until there are <paramref name="count"/>, reading from each one as soon as it exists; after
    /// each of the first and the last <see cref="Provisioning.Window"/> tenants, builds one raw schema.
    /// </summary>
    private static async Task ProvisionAsync(Api api, List<string> tenants, int count, Provisioning provisioning, RawSchemas raw)
    {
        while (tenants.Count < count)
        {
            var index = tenants.Count;
            var id = "bench-" + (index + 1).ToString("D5", CultureInfo.InvariantCulture);
            provisioning.Posts.Add(await api.SendAsync(HttpMethod.Post, "/api/v1/tenants", api.AdminToken, new { id, name = "Bench tenant " + id }));
            tenants.Add(id);
            provisioning.FirstReads.Add(await api.SendAsync(HttpMethod.Get, "/api/v1/insight-models", api.TenantToken(id)));
            var (first, last) = (index < provisioning.Window, index >= provisioning.Tenants - provisioning.Window);
            if (first || last)
            {
                // The tenant's first ingestion runs in the background once it is provisioned: let it finish, so that it
                // slows neither the raw schema nor the next tenant's provisioning.
                await Task.Delay(SettleBeforeRaw);
                var time = await raw.CreateAsync();
                if (first)
                {
                    provisioning.RawFirst.Add(time);
                }

                if (last)
                {
                    provisioning.RawLast.Add(time);
                }
            }

            if (tenants.Count % 100 == 0)
            {
                Console.Error.WriteLine($"tenants: {tenants.Count} provisioned; last 100 {Summary.Of(provisioning.Posts.TakeLast(100))}");
            }
        }
    }

    private static async Task<Point> MeasurePointAsync(Api api, List<string> tenants, HostProcess host, BenchDatabase database, Options options, Random random)
    {
        Console.Error.WriteLine($"tenants: measuring at {tenants.Count} tenants");
        string Any() => tenants[random.Next(tenants.Count)];
        // Long enough for the runtime to finish tiered (re)compilation of the request paths: a young host reads slower.
        var warmUntil = DateTime.UtcNow.AddSeconds(options.WarmupSeconds);
        while (DateTime.UtcNow < warmUntil)
        {
            await api.SendAsync(HttpMethod.Get, "/api/v1/tenants/" + Any(), api.AdminToken);
            await api.SendAsync(HttpMethod.Get, "/api/v1/insight-models", api.TenantToken(Any()));
        }

        await Task.Delay(TimeSpan.FromSeconds(1));

        var gets = new List<double>(options.Requests);
        for (var i = 0; i < options.Requests; i++)
        {
            gets.Add(await api.SendAsync(HttpMethod.Get, "/api/v1/tenants/" + Any(), api.AdminToken));
        }

        var reads = new List<double>(options.Requests);
        for (var i = 0; i < options.Requests; i++)
        {
            reads.Add(await api.SendAsync(HttpMethod.Get, "/api/v1/insight-models", api.TenantToken(Any())));
        }

        // The same read over the first few tenants only: what the number of tenants costs when the spread of requests does not change.
        var hot = new List<double>(options.Requests);
        for (var i = 0; i < options.Requests; i++)
        {
            hot.Add(await api.SendAsync(HttpMethod.Get, "/api/v1/insight-models", api.TenantToken(tenants[random.Next(options.Early)])));
        }

        await Task.Delay(TimeSpan.FromSeconds(options.SettleSeconds));
        return new Point(tenants.Count, Summary.Of(gets), Summary.Of(reads), Summary.Of(hot), host.WorkingSet(), await database.MeasureBackendsAsync());
    }

    /// <summary>
    /// Concurrent clients that each read every tenant once, in an order of their own: the steady state of a busy host,
    /// where every pooled connection ends up serving every tenant.
    /// </summary>
    private static async Task<Spread> SpreadAsync(Api api, List<string> tenants, HostProcess host, BenchDatabase database, Options options)
    {
        Console.Error.WriteLine($"tenants: {options.Readers} concurrent readers over every tenant");
        var times = new ConcurrentBag<double>();
        await Parallel.ForEachAsync(Enumerable.Range(1, options.Readers), new ParallelOptions { MaxDegreeOfParallelism = options.Readers }, async (reader, _) =>
        {
            var order = tenants.ToArray();
            new Random(reader).Shuffle(order);
            foreach (var id in order)
            {
                times.Add(await api.SendAsync(HttpMethod.Get, "/api/v1/insight-models", api.TenantToken(id)));
            }
        });

        await Task.Delay(TimeSpan.FromSeconds(options.SettleSeconds));
        return new Spread(options.Readers, Summary.Of(times), host.WorkingSet(), await database.MeasureBackendsAsync());
    }



    /// <summary>Provisioning times, and the raw SQL schemas built beside the first and the last <see cref="Window"/> tenants.</summary>
    private sealed class Provisioning(Options options)
    {
        public int Tenants { get; } = options.Tenants;

        public int Window { get; } = Math.Min(options.Baseline, options.Tenants);

        public List<double> Posts { get; } = new(options.Tenants);

        public List<double> FirstReads { get; } = new(options.Tenants);

        public List<double> RawFirst { get; } = [];

        public List<double> RawLast { get; } = [];
    }

    /// <summary>The figures at one number of tenants.</summary>
    private sealed record Point(int Tenants, Summary GetTenant, Summary TenantRead, Summary HotTenantRead, long HostWorkingSet, BackendMemory Backends);

    private sealed record Spread(int Readers, Summary Reads, long HostWorkingSet, BackendMemory Backends);

    /// <summary>One client for the whole run, sequential requests; tokens minted with the development key.</summary>
    private sealed class Api(HttpClient http, RsaSecurityKey key, FluigIdentityOptions identity)
    {
        private static readonly TimeSpan Lifetime = TimeSpan.FromHours(4);
        private readonly ConcurrentDictionary<string, string> tenantTokens = new(StringComparer.Ordinal);

        public string AdminToken { get; } = DevelopmentKey.Mint(key, identity, [new Claim("sub", "bench-admin"), new Claim(identity.RoleClaim, identity.AdminRole)], Lifetime);

        public string TenantToken(string tenantId) => tenantTokens.GetOrAdd(tenantId, id =>
            DevelopmentKey.Mint(key, identity, [new Claim("sub", "bench-client-" + id), new Claim(identity.TenantClaim, id)], Lifetime));

        /// <summary>Sends one request and returns its time to the last byte of the body, in milliseconds; anything but 2xx is an error.</summary>
        public async Task<double> SendAsync(HttpMethod method, string path, string token, object? body = null)
        {
            using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            if (body is not null)
            {
                request.Content = JsonContent.Create(body);
            }

            HttpResponseMessage? response = null;
            var text = "";
            var elapsed = await Timing.MeasureAsync(async () =>
            {
                response = await http.SendAsync(request);
                text = await response.Content.ReadAsStringAsync();
            });
            using (response)
            {
                if (!response!.IsSuccessStatusCode)
                {
                    throw new BenchmarkException($"{method} {path} answered {(int)response.StatusCode}: {(text.Length > 500 ? text[..500] : text)}");
                }
            }

            return elapsed;
        }
    }

    private sealed record Report(
        Options Options, string ServerVersion, string PoolSettings, string Machine, Provisioning Provisioning, Point Early, Point Late, Spread? Spread)
    {
        private static readonly CompositeFormat RowFormat = CompositeFormat.Parse("{0,-40}{1,-18}{2,-18}{3,-10}{4,-17}{5}");

        public void Print(TextWriter output)
        {
            var sample = Provisioning.Window;
            output.WriteLine();
            output.WriteLine($"tenants: {Late.Tenants} tenants provisioned one request at a time; reads measured at {Early.Tenants} and {Late.Tenants} tenants");
            output.WriteLine($"  ({Options.Requests} requests each over random tenants after {Options.WarmupSeconds} s of warm-up; memory after {Options.SettleSeconds} s settling)");
            output.WriteLine($"  PostgreSQL {ServerVersion}; host connection options: {PoolSettings}");
            output.WriteLine($"  {Machine}");
            output.WriteLine();
            Row("provisioning", "p50 / p99 (ms)", "raw SQL (ms)", "p50 ratio", "target", "");
            Provision($"  POST /tenants, first {sample}", Summary.Of(Provisioning.Posts.Take(sample)), Summary.Of(Provisioning.RawFirst));
            Provision($"  POST /tenants, last {sample}", Summary.Of(Provisioning.Posts.TakeLast(sample)), Summary.Of(Provisioning.RawLast));
            Row($"  first tenant read, all {Provisioning.FirstReads.Count}", Ms(Summary.Of(Provisioning.FirstReads)), "", "", "", "");
            output.WriteLine("  (raw SQL: CREATE SCHEMA and the SQL of a new tenant schema in one transaction on a connection of its own, one schema");
            output.WriteLine($"   after each of those tenants, once its first ingestion had {SettleBeforeRaw.TotalMilliseconds:F0} ms to finish)");
            output.WriteLine();
            Row("reads (ms)", $"at {Early.Tenants}", $"at {Late.Tenants}", "ratio", "target", "");
            Latency("  GET /tenants/{id}", Early.GetTenant, Late.GetTenant);
            Latency("  GET /insight-models (tenant)", Early.TenantRead, Late.TenantRead);
            Latency($"  same, over the first {Early.Tenants} only", Early.HotTenantRead, Late.HotTenantRead);
            output.WriteLine();
            Row("memory (MB)", $"at {Early.Tenants}", $"at {Late.Tenants}", "growth", "target", "");
            var hostGrowth = Late.HostWorkingSet - Early.HostWorkingSet;
            Row("  host working set", Mb(Early.HostWorkingSet), Mb(Late.HostWorkingSet), Signed(hostGrowth), $"<= +{Mb(HostGrowthTargetBytes)}", Verdict(hostGrowth <= HostGrowthTargetBytes));
            Row("  PostgreSQL client backends", Count(Early.Backends.Backends), Count(Late.Backends.Backends), "", "", "");
            var backendGrowth = Late.Backends.PrivateDirtyBytes - Early.Backends.PrivateDirtyBytes;
            var perTenant = Late.Tenants > Early.Tenants ? backendGrowth / 1024.0 / (Late.Tenants - Early.Tenants) : double.NaN;
            Row("    private dirty, sum", Mb(Early.Backends.PrivateDirtyBytes), Mb(Late.Backends.PrivateDirtyBytes), Signed(backendGrowth),
                string.Create(CultureInfo.InvariantCulture, $"{perTenant:F1} KB per added tenant"), "");
            Row("    private dirty, largest backend", Mb(Early.Backends.MaxPrivateDirtyBytes), Mb(Late.Backends.MaxPrivateDirtyBytes),
                Signed(Late.Backends.MaxPrivateDirtyBytes - Early.Backends.MaxPrivateDirtyBytes), "", "");
            Row("    Pss, sum", Mb(Early.Backends.PssBytes), Mb(Late.Backends.PssBytes), Signed(Late.Backends.PssBytes - Early.Backends.PssBytes), "", "");
            if (Spread is { } spread)
            {
                output.WriteLine();
                output.WriteLine($"after {spread.Readers} concurrent readers each read all {Late.Tenants} tenants (reads p50 / p99 {Ms(spread.Reads)} ms)");
                Row("  host working set (MB)", Mb(spread.HostWorkingSet), "", "", "", "");
                Row("  PostgreSQL client backends", Count(spread.Backends.Backends), "", "", "", "");
                Row("    private dirty, sum (MB)", Mb(spread.Backends.PrivateDirtyBytes), "", "", "", "");
                Row("    private dirty, largest (MB)", Mb(spread.Backends.MaxPrivateDirtyBytes), "", "", "", "");
                Row("    Pss, sum (MB)", Mb(spread.Backends.PssBytes), "", "", "", "");
            }

            void Provision(string name, Summary api, Summary raw)
            {
                var ratio = api.P50 / raw.P50;
                Row(name, Ms(api), Ms(raw), string.Create(CultureInfo.InvariantCulture, $"{ratio:F2}x"),
                    string.Create(CultureInfo.InvariantCulture, $"<= {ProvisioningTargetMs:F0} ms, {ProvisioningRatioTarget:F1}x"),
                    Verdict(api.P50 <= ProvisioningTargetMs && ratio <= ProvisioningRatioTarget));
            }

            void Latency(string name, Summary early, Summary late)
            {
                Ratio(name + ", p50", early.P50, late.P50);
                Ratio(name + ", p99", early.P99, late.P99);
            }

            void Ratio(string name, double early, double late)
            {
                var ratio = late / early;
                Row(name, Number(early), Number(late), string.Create(CultureInfo.InvariantCulture, $"{ratio:F2}x"),
                    string.Create(CultureInfo.InvariantCulture, $"<= {LatencyRatioTarget:F2}x"), Verdict(ratio <= LatencyRatioTarget));
            }

            void Row(params object[] cells) => output.WriteLine(string.Format(CultureInfo.InvariantCulture, RowFormat, cells).TrimEnd());
        }

        private static string Ms(Summary summary) => string.Create(CultureInfo.InvariantCulture, $"{summary.P50:F1} / {summary.P99:F1}");

        private static string Number(double value) => value.ToString("F2", CultureInfo.InvariantCulture);

        private static string Count(int value) => value.ToString(CultureInfo.InvariantCulture);

        private static string Mb(long bytes) => (bytes / 1024.0 / 1024.0).ToString("F1", CultureInfo.InvariantCulture);

        private static string Signed(long bytes) => (bytes >= 0 ? "+" : "") + Mb(bytes);

        private static string Verdict(bool met) => met ? "met" : "NOT MET";
    }

    private sealed record Options(int Tenants, int Early, int Requests, int WarmupSeconds, int Baseline, int SettleSeconds, int Readers, string? Connection)
    {
        public const string Usage =
            "usage: tenants [--tenants 1000] [--early 10] [--requests 500] [--warmup 10] [--baseline 100] [--settle 5]\n"
            + "               (--baseline N: raw SQL schemas beside each of the first and the last N tenants)\n"
            + "               [--readers 0]  (then K concurrent clients each read every tenant, and memory is measured again)\n"
            + "               [--connection \"Maximum Pool Size=10;Connection Lifetime=60\"]  (pool settings over appsettings.json's)";

        public static bool TryParse(string[] args, out Options options, out string? problem)
        {
            options = new Options(1000, 10, 500, 10, 100, 5, 0, null);
            problem = null;
            for (var i = 0; i < args.Length; i += 2)
            {
                if (i + 1 >= args.Length)
                {
                    problem = $"{args[i]} needs a value.";
                    return false;
                }

                var value = args[i + 1];
                if (args[i] == "--connection")
                {
                    options = options with { Connection = value };
                    continue;
                }

                if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
                {
                    problem = $"{args[i]} needs a whole number; got '{value}'.";
                    return false;
                }

                switch (args[i])
                {
                    case "--tenants": options = options with { Tenants = number }; break;
                    case "--early": options = options with { Early = number }; break;
                    case "--requests": options = options with { Requests = number }; break;
                    case "--warmup": options = options with { WarmupSeconds = number }; break;
                    case "--baseline": options = options with { Baseline = number }; break;
                    case "--settle": options = options with { SettleSeconds = number }; break;
                    case "--readers": options = options with { Readers = number }; break;
                    default:
                        problem = $"unknown option {args[i]}.";
                        return false;
                }
            }

            if (options.Tenants < 1 || options.Early < 1 || options.Early > options.Tenants || options.Requests < 1 || options.Baseline < 1)
            {
                problem = "need 1 <= --early <= --tenants, and --requests and --baseline at least 1.";
                return false;
            }

            return true;
        }
    }
}

/// <summary>A failure of the system under measurement (e.g. a non-2xx answer): the run is not valid.</summary>
internal sealed class BenchmarkException(string message) : Exception(message);
