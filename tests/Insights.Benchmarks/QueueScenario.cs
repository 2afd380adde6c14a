using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Insights.Database;
using Insights.SmartLink;
using Insights.Tenancy;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Insights.Benchmarks;

/// <summary>
/// Receive + ack throughput of one tenant's queue: 8 HTTP clients over loopback against the host, and in the same run
/// the same lease + ack statements straight on PostgreSQL. Then 100 tenants with one consumer each.
/// </summary>
internal static class QueueScenario
{
    private const double TargetMessagesPerSecond = 5000;
    private const double TargetRatio = 0.4;
    // Steady state needs tens of thousands of requests: after 10,000 the host still spent ~50 % more per message.
    private const int WarmUpMessages = 50_000;

    public static async Task<int> RunAsync(string[] args)
    {
        var messages = BenchHost.Option(args, "--messages", 100_000);
        var clients = BenchHost.Option(args, "--clients", 8);
        var tenants = BenchHost.Option(args, "--tenants", 100);
        var perTenant = BenchHost.Option(args, "--per-tenant", 1_000);
        try
        {
            await using var bench = await BenchHost.StartAsync(new Dictionary<string, string>
            {
                // The client API's per-tenant rate limit is not what this measures.
                ["SmartLink__RateLimitPermitsPerSecond"] = "1000000",
                ["SmartLink__RateLimitBurst"] = "1000000",
            }, BenchHost.Argument(args, "--connection"));
            await using var dataSource = NpgsqlDataSource.Create(bench.ConnectionString);
            await using var connections = new TenantDatabases(new CatalogDatabase(dataSource), bench.ConnectionString, laneCount: 1, lanePoolSize: 64);
            using var admin = bench.Client(bench.AdminToken);
            var load = BenchHost.LoadAverage();

            var http = await MeasureAsync("http", bench, admin, connections, "q-http", messages, clients, HttpConsumerAsync(bench));
            var raw = await MeasureAsync("raw", bench, admin, connections, "q-raw", messages, clients, RawConsumer(connections));

            Console.Error.WriteLine($"queue: {tenants} tenants x {perTenant} messages, one consumer each");
            var ids = Enumerable.Range(1, tenants).Select(i => "q-many-" + i.ToString("D3", CultureInfo.InvariantCulture)).ToList();
            foreach (var id in ids)
            {
                await BenchHost.ProvisionAsync(admin, id);
                await EnqueueAsync(connections, id, perTenant);
            }

            var consume = HttpConsumerAsync(bench);
            await BenchHost.CheckpointAsync(bench.ConnectionString);
            var cpu = CpuMeter.Start(bench.HostIds);
            var watch = Stopwatch.StartNew();
            var counts = await Task.WhenAll(ids.Select(id => consume(id)));
            watch.Stop();
            var many = new Result(counts.Sum(), watch.Elapsed, cpu.Report(counts.Sum()));

            var output = Console.Out;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"queue: {messages} messages of ~1 KB data, {clients} clients doing receive(max 10) + ack"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {Environment.ProcessorCount} cores, load average (1 min) {load} at start, {BenchHost.LoadAverage()} at end"));
            output.WriteLine();
            output.WriteLine("                                         msgs/s        target");
            output.WriteLine(Line("HTTP end to end, one tenant", http.Rate, $">= {TargetMessagesPerSecond:F0}", http.Rate >= TargetMessagesPerSecond));
            output.WriteLine(Line("raw SQL lease + ack (baseline)", raw.Rate, "", null));
            output.WriteLine(Line("HTTP / raw SQL", http.Rate / raw.Rate, $">= {TargetRatio:F1}x", http.Rate / raw.Rate >= TargetRatio, ratio: true));
            output.WriteLine(Line($"HTTP, {tenants} tenants x 1 consumer", many.Rate, "", null));
            output.WriteLine();
            output.WriteLine($"  HTTP, one tenant: {http.Cpu}");
            output.WriteLine($"  raw SQL: {raw.Cpu}");
            output.WriteLine($"  HTTP, {tenants} tenants: {many.Cpu}");
            return http.Count == messages && raw.Count == messages && many.Count == tenants * perTenant ? 0 : 1;
        }
        catch (Exception e) when (e is HttpRequestException or NpgsqlException or InvalidOperationException or TimeoutException)
        {
            Console.Error.WriteLine($"queue: failed: {e.Message}");
            return 1;
        }
    }

    private sealed record Result(long Count, TimeSpan Elapsed, string Cpu = "")
    {
        public double Rate => Count / Elapsed.TotalSeconds;
    }

    private static async Task<Result> MeasureAsync(
        string name, BenchHost bench, HttpClient admin, TenantDatabases connections, string tenantId, int messages, int clients,
        Func<string, Task<long>> consumer)
    {
        // Steady state, not start-up: the first thousands of requests still run code the JIT is compiling.
        var warmTenant = tenantId + "-warm";
        await BenchHost.ProvisionAsync(admin, warmTenant);
        await EnqueueAsync(connections, warmTenant, WarmUpMessages);
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => consumer(warmTenant)));
        await CpuMeter.WaitForQuietJitAsync(bench.HostIds, TimeSpan.FromSeconds(30));

        await BenchHost.ProvisionAsync(admin, tenantId);
        var enqueue = Stopwatch.StartNew();
        await EnqueueAsync(connections, tenantId, messages);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"queue: {name}: enqueued {messages} in {enqueue.Elapsed.TotalSeconds:F1} s ({messages / enqueue.Elapsed.TotalSeconds:F0}/s)"));
        await using (var vacuum = connections.Catalog.CreateCommand($"VACUUM ANALYZE {SchemaName.ForTenant(tenantId).Quoted}.queue_messages"))
        {
            await vacuum.ExecuteNonQueryAsync();
        }

        await BenchHost.CheckpointAsync(bench.ConnectionString);
        var cpu = CpuMeter.Start(bench.HostIds);
        var watch = Stopwatch.StartNew();
        var counts = await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => consumer(tenantId)));
        watch.Stop();
        var result = new Result(counts.Sum(), watch.Elapsed, cpu.Report(counts.Sum()));
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"queue: {name}: {result.Count} received and acked in {watch.Elapsed.TotalSeconds:F1} s"));
        return result;
    }

    private static async Task EnqueueAsync(TenantDatabases connections, string tenantId, int count)
    {
        var tenant = new TenantInfo(tenantId, tenantId, TenantStatus.Active, SchemaName.ForTenant(tenantId));
        var writer = new QueueWriter();
        var payload = new string('x', 900);
        for (var start = 0; start < count; start += 5000)
        {
            var batch = Enumerable.Range(start, Math.Min(5000, count - start))
                .Select(i => OutgoingMessage.Create("InsightModel", MessagePriority.Normal,
                    JsonSerializer.Serialize(new { uuid = "m-" + i, insight = "CashFlowForecast", module = "SIGAFIN", version = 1, payload = new { text = payload } })))
                .ToList();
            await writer.EnqueueAsync(connections, tenant, batch, CancellationToken.None);
        }
    }

    /// <summary>One Protheus client: receive up to 10, ack them, until the queue is empty.</summary>
    private static Func<string, Task<long>> HttpConsumerAsync(BenchHost bench) => async tenantId =>
    {
        using var client = bench.Client(bench.TenantToken(tenantId));
        var receive = new StringContent("""{"max":10,"visibilityTimeoutSeconds":60}""", Encoding.UTF8, "application/json");
        long done = 0;
        while (true)
        {
            using var response = await client.PostAsync("/api/v1/smartlink/receive", receive);
            response.EnsureSuccessStatusCode();
            using var body = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync());
            var receipts = body.RootElement.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("receipt").GetString()).ToArray();
            if (receipts.Length == 0)
            {
                return done;
            }

            using var ack = await client.PostAsJsonAsync("/api/v1/smartlink/ack", new { receipts });
            ack.EnsureSuccessStatusCode();
            done += receipts.Length;
        }
    };

    /// <summary>The same statements the service runs, straight on PostgreSQL, with the same batch of 10.</summary>
    private static Func<string, Task<long>> RawConsumer(TenantDatabases connections) => async tenantId =>
    {
        var store = new TenantQueues(connections, Options.Create(new SmartLinkOptions()));
        var tenant = new TenantInfo(tenantId, tenantId, TenantStatus.Active, SchemaName.ForTenant(tenantId));
        long done = 0;
        while (true)
        {
            var leased = await store.LeaseAsync(tenant, 10, 60, CancellationToken.None);
            if (leased.Count == 0)
            {
                return done;
            }

            await store.AckAsync(tenant, leased.Select(m => m.Receipt).ToList(), CancellationToken.None);
            done += leased.Count;
        }
    };

    private static string Line(string label, double value, string target, bool? met, bool ratio = false) =>
        string.Create(CultureInfo.InvariantCulture,
            $"  {label,-38} {(ratio ? value.ToString("F2", CultureInfo.InvariantCulture) + "x" : value.ToString("F0", CultureInfo.InvariantCulture)),9}     {target,-10} {(met is null ? "" : met.Value ? "met" : "NOT MET")}");

}
