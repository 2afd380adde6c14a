using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Insights.Database;
using Insights.SmartLink;
using Insights.Tenancy;
using Npgsql;

namespace Insights.Benchmarks;

/// <summary>
/// One PostgreSQL for a fleet: 10,000 tenants (kept in the database <c>insights_fleet</c> between runs), and in one run
/// (a) a tenant-scoped read and <c>receive</c> round-robin over 10 tenants and over all of them, (b) the PostgreSQL
/// backends' private memory during and after (a), (c) a long poll per tenant waiting on an empty queue: statements per
/// second, the host's processor time and memory, and enqueue-to-delivery latency for a sample of tenants, (d) one
/// scheduler interval when 1 % of the tenants have new models, (e) provisioning at the fleet's size beside raw DDL.
/// </summary>
internal static class FleetScenario
{
    private const string Read = "/api/v1/insight-models?limit=1";
    private const string Receive = "/api/v1/smartlink/receive";
    private const string Insight = "CashFlowForecast";

    private const double ThroughputRatioTarget = 0.8;
    private const double LatencyRatioTarget = 1.3;
    private const long BackendMemoryTargetBytes = 1L << 30;
    private const double StatementsPerClientTarget = 0.05;
    private const double DeliveryP99TargetMs = 100;
    private const long HostRssTargetBytes = 600L * 1024 * 1024;
    private const double ProvisioningRatioTarget = 1.5;

    public static async Task<int> RunAsync(string[] args)
    {
        var options = new Options(
            Tenants: BenchHost.Option(args, "--tenants", 10_000),
            Clients: BenchHost.Option(args, "--clients", 8),
            ReadSeconds: BenchHost.Option(args, "--read-seconds", 15),
            WarmPasses: BenchHost.Option(args, "--warm-passes", 2),
            Polls: BenchHost.Option(args, "--polls", -1),
            PollSeconds: BenchHost.Option(args, "--poll-seconds", 60),
            Deliveries: BenchHost.Option(args, "--deliveries", 200),
            Provisions: BenchHost.Option(args, "--provisions", 200),
            Database: BenchHost.Argument(args, "--database") ?? "insights_fleet",
            Interval: !args.Contains("--no-interval"),
            Connection: BenchHost.Argument(args, "--connection"));
        try
        {
            var report = await MeasureAsync(options with { Polls = options.Polls < 0 ? options.Tenants : options.Polls });
            report.Print(Console.Out);
            return 0;
        }
        catch (Exception e) when (e is HttpRequestException or NpgsqlException or InvalidOperationException or TimeoutException or IOException)
        {
            Console.Error.WriteLine($"fleet: failed: {e.Message}");
            return 1;
        }
    }

    private static async Task<Report> MeasureAsync(Options options)
    {
        var database = await BenchDatabase.OpenOrCreateAsync(BenchHost.PostgresSetting(), options.Database);
        var loadAtStart = BenchHost.LoadAverage();
        await using var bench = await BenchHost.StartAsync(new Dictionary<string, string>
        {
            ["Roles"] = "api",
            ["SmartLink__RateLimitPermitsPerSecond"] = "1000000",
            ["SmartLink__RateLimitBurst"] = "1000000",
        }, options.Connection, database);
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) };
        using var http = new HttpClient(handler) { BaseAddress = bench.Host.BaseAddress, Timeout = TimeSpan.FromSeconds(120) };
        var api = new Api(http, bench);
        await using var catalog = NpgsqlDataSource.Create(bench.ConnectionString);
        await using var connections = new TenantDatabases(new CatalogDatabase(catalog), bench.ConnectionString, laneCount: 1, lanePoolSize: 4);

        var tenants = await ProvisionFleetAsync(api, catalog, options.Tenants);
        var changed = tenants.Where((_, i) => i % 100 == 0).ToList();
        await ClearQueuesAsync(catalog, changed);
        (await api.SendAsync(HttpMethod.Put, $"/api/v1/insight-definitions/{Insight}", api.Admin, new { module = "SIGAFIN", online = true })).Dispose();

        Console.Error.WriteLine("fleet: (e) provisioning at the fleet's size, and the raw DDL of the same schema");
        var provisioning = await ProvisionExtraAsync(api, options.Provisions);
        var raw = await RawBaselineAsync(database, options.Provisions);

        Console.Error.WriteLine("fleet: (a) warm-up, then reads over 10 tenants and over all");
        var few = tenants.Take(10).ToList();
        await MeasureAsync(api, few, options with { ReadSeconds = 10 }, Read, null, null);
        await MeasureAsync(api, few, options with { ReadSeconds = 5 }, Receive, null, null);
        await CpuMeter.WaitForQuietJitAsync(bench.HostIds, TimeSpan.FromSeconds(30));
        var memoryBefore = await database.MeasureBackendsAsync();
        var readFew = await MeasureAsync(api, few, options, Read, database, bench);
        var receiveFew = await MeasureAsync(api, few, options, Receive, database, bench);

        // The steady state of a busy fleet, not its first minute: every lane connection has met its tenants.
        Console.Error.WriteLine($"fleet: warm-up, {options.WarmPasses} passes over all {tenants.Count} tenants");
        for (var pass = 0; pass < options.WarmPasses; pass++)
        {
            await MeasureAsync(api, tenants, options with { ReadSeconds = 0 }, Read, null, null, requests: tenants.Count);
            await MeasureAsync(api, tenants, options with { ReadSeconds = 0 }, Receive, null, null, requests: tenants.Count);
        }

        await CpuMeter.WaitForQuietJitAsync(bench.HostIds, TimeSpan.FromSeconds(30));

        Console.Error.WriteLine($"fleet: reads over all {tenants.Count} tenants");
        var readAll = await MeasureAsync(api, tenants, options, Read, database, bench);
        var receiveAll = await MeasureAsync(api, tenants, options, Receive, database, bench);
        await Task.Delay(TimeSpan.FromSeconds(2));
        var memoryAfter = await database.MeasureBackendsAsync();

        Console.Error.WriteLine($"fleet: (c) {options.Polls} long polls for {options.PollSeconds} s");
        var polls = await LongPollsAsync(api, bench, catalog, connections, tenants.Take(options.Polls).ToList(), options);
        var memoryPolls = await database.MeasureBackendsAsync();

        Interval? interval = null;
        if (options.Interval)
        {
            Console.Error.WriteLine($"fleet: (d) one scheduler interval, {changed.Count} tenants with 100 new models each");
            interval = await SchedulerIntervalAsync(bench, catalog, tenants.Count, changed);
            await ClearQueuesAsync(catalog, changed);
        }

        var machine = $"{Environment.ProcessorCount} cores, load average (1 min) {loadAtStart} at start, {BenchHost.LoadAverage()} at end";
        return new Report(options, database.ServerVersion, machine, tenants.Count, readFew, readAll, receiveFew, receiveAll,
            memoryBefore, memoryAfter, Max(readFew, receiveFew, readAll, receiveAll), memoryPolls, polls, interval, provisioning, raw);
    }

    private static BackendMemory Max(params Load[] loads) => loads.Select(l => l.PeakBackends!).MaxBy(m => m.PrivateDirtyBytes)!;

    /// <summary>Provisions the fleet's missing tenants (<c>fleet-00001</c>…), four at a time; returns every id in order.</summary>
    private static async Task<List<string>> ProvisionFleetAsync(Api api, NpgsqlDataSource catalog, int count)
    {
        var ids = Enumerable.Range(1, count).Select(i => "fleet-" + i.ToString("D5", CultureInfo.InvariantCulture)).ToList();
        var existing = new HashSet<string>(StringComparer.Ordinal);
        await using (var command = catalog.CreateCommand("SELECT id FROM catalog.tenants WHERE status = 'active' AND id LIKE 'fleet-%'"))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                existing.Add(reader.GetString(0));
            }
        }

        var missing = ids.Where(id => !existing.Contains(id)).ToList();
        Console.Error.WriteLine($"fleet: {existing.Count} tenants kept from an earlier run; provisioning {missing.Count}");
        var done = 0;
        var watch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(missing, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (id, _) =>
        {
            (await api.SendAsync(HttpMethod.Post, "/api/v1/tenants", api.Admin, new { id, name = "Fleet tenant " + id })).Dispose();
            if (Interlocked.Increment(ref done) % 500 == 0)
            {
                Console.Error.WriteLine($"fleet: {done} of {missing.Count} provisioned in {watch.Elapsed.TotalSeconds:F0} s");
            }
        });
        return ids;
    }

    private static async Task ClearQueuesAsync(NpgsqlDataSource catalog, IEnumerable<string> tenants)
    {
        foreach (var tenant in tenants)
        {
            await using var clear = catalog.CreateCommand($"TRUNCATE {SchemaName.ForTenant(tenant).Quoted}.queue_messages");
            await clear.ExecuteNonQueryAsync();
        }
    }

    /// <summary>POST /tenants for extra tenants, one at a time, deleted again afterwards so the fleet keeps its size.</summary>
    private static async Task<Summary> ProvisionExtraAsync(Api api, int count)
    {
        var run = Guid.NewGuid().ToString("N")[..6];
        var times = new List<double>(count);
        var ids = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            var id = $"fleetx-{run}-{i:D4}";
            times.Add(await Timing.MeasureAsync(async () =>
                (await api.SendAsync(HttpMethod.Post, "/api/v1/tenants", api.Admin, new { id, name = "Extra " + id })).Dispose()));
            ids.Add(id);
        }

        foreach (var id in ids)
        {
            (await api.SendAsync(HttpMethod.Delete, "/api/v1/tenants/" + id, api.Admin)).Dispose();
        }

        return Summary.Of(times);
    }

    private static async Task<Summary> RawBaselineAsync(BenchDatabase database, int count)
    {
        await DropRawAsync(database, count);
        var times = new List<double>(count);
        await using (var raw = await database.OpenRawSchemasAsync(new TenantMigrator().NewSchemaSql()))
        {
            for (var i = 0; i < count; i++)
            {
                times.Add(await raw.CreateAsync());
            }
        }

        await DropRawAsync(database, count);
        return Summary.Of(times);
    }

    private static async Task DropRawAsync(BenchDatabase database, int count)
    {
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        for (var i = 1; i <= count; i++)
        {
            await using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS \"raw_{i:D5}\" CASCADE", connection);
            await drop.ExecuteNonQueryAsync();
        }
    }

    /// <summary>
    /// <see cref="Options.Clients"/> clients sending <paramref name="path"/> for <see cref="Options.ReadSeconds"/>, each
    /// request for the next tenant of <paramref name="tenants"/> in turn; the backends' memory sampled meanwhile.
    /// </summary>
    private static async Task<Load> MeasureAsync(
        Api api, List<string> tenants, Options options, string path, BenchDatabase? database, BenchHost? bench, int requests = int.MaxValue)
    {
        var times = new ConcurrentBag<double>();
        var next = -1L;
        var cpu = bench is null ? null : CpuMeter.Start(bench.HostIds);
        var watch = Stopwatch.StartNew();
        var until = requests == int.MaxValue ? TimeSpan.FromSeconds(options.ReadSeconds) : TimeSpan.MaxValue;
        using var stop = new CancellationTokenSource();
        BackendMemory? peak = null;
        var sampling = database is null ? Task.CompletedTask : Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var now = await database.MeasureBackendsAsync();
                if (peak is null || now.PrivateDirtyBytes > peak.PrivateDirtyBytes)
                {
                    peak = now;
                }

                await Task.Delay(TimeSpan.FromSeconds(2), stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        });
        await Task.WhenAll(Enumerable.Range(0, options.Clients).Select(async _ =>
        {
            while (watch.Elapsed < until && Interlocked.Increment(ref next) is var turn && turn < requests)
            {
                var tenant = tenants[(int)(turn % tenants.Count)];
                times.Add(await Timing.MeasureAsync(async () =>
                {
                    using var response = path == Receive
                        ? await api.SendAsync(HttpMethod.Post, path, api.Token(tenant), new { max = 1 })
                        : await api.SendAsync(HttpMethod.Get, path, api.Token(tenant));
                    await response.Content.LoadIntoBufferAsync();
                }));
            }
        }));
        var elapsed = watch.Elapsed;
        await stop.CancelAsync();
        await sampling;
        var where = cpu?.Report(times.Count, "req") ?? "";
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fleet: {path} over {tenants.Count} tenants: {times.Count / elapsed.TotalSeconds:F0} req/s, {Summary.Of(times)} {where}"));
        return new Load(tenants.Count, times.Count / elapsed.TotalSeconds, Summary.Of(times), peak, where);
    }

    /// <summary>
    /// One long poll per tenant, each polling again as soon as it is answered; once they all wait, a window in which a
    /// sample of tenants gets one message each at random moments, enqueued straight in PostgreSQL (with the notification).
    /// </summary>
    private static async Task<Polls> LongPollsAsync(
        Api api, BenchHost bench, NpgsqlDataSource catalog, TenantDatabases connections, List<string> tenants, Options options)
    {
        var latencies = new ConcurrentBag<double>();
        var deliveries = new ConcurrentBag<(string Tenant, double Latency, double PollAge)>();
        var enqueues = new ConcurrentDictionary<string, double>(StringComparer.Ordinal);
        var started = 0;
        var errors = 0;
        var failures = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        using var stop = new CancellationTokenSource();
        var clients = tenants.Select(async (tenant, index) =>
        {
            // Clients come up over a few seconds (a thousand a second), as a fleet's do, not in one burst of connects.
            await Task.Delay(TimeSpan.FromMilliseconds(index));
            var token = api.Token(tenant);
            var first = true;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var sentAt = DateTime.UtcNow.Ticks;
                    var poll = api.SendAsync(HttpMethod.Post, Receive, token, new { max = 10, waitSeconds = 20 });
                    if (first)
                    {
                        first = false;
                        Interlocked.Increment(ref started);
                    }

                    using var response = await poll;
                    using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                    var receipts = new List<string>();
                    foreach (var message in body.RootElement.GetProperty("messages").EnumerateArray())
                    {
                        var enqueuedAt = message.GetProperty("message").GetProperty("data").GetProperty("sentAt").GetInt64();
                        var now = DateTime.UtcNow.Ticks;
                        latencies.Add(TimeSpan.FromTicks(now - enqueuedAt).TotalMilliseconds);
                        deliveries.Add((tenant, TimeSpan.FromTicks(now - enqueuedAt).TotalMilliseconds, TimeSpan.FromTicks(now - sentAt).TotalMilliseconds));
                        receipts.Add(message.GetProperty("receipt").GetString()!);
                    }

                    if (receipts.Count > 0)
                    {
                        (await api.SendAsync(HttpMethod.Post, "/api/v1/smartlink/ack", token, new { receipts })).Dispose();
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or InvalidOperationException)
                {
                    Interlocked.Increment(ref errors);
                    var reason = e.GetBaseException().Message;
                    failures.AddOrUpdate(reason.Length > 160 ? reason[..160] : reason, 1, (_, n) => n + 1);
                    await Task.Delay(1000);
                }
            }
        }).ToList();

        // Every poll is sent, and has had time for its first look.
        while (Volatile.Read(ref started) < tenants.Count)
        {
            await Task.Delay(200);
        }

        await Task.Delay(TimeSpan.FromSeconds(5));
        var commitsBefore = await CommitsAsync(catalog);
        var cpuBefore = CpuSeconds(bench.Host.Id);
        var hostPausesBefore = await api.GcPausesAsync();
        var benchPausesBefore = GC.GetTotalPauseDuration();
        var window = Stopwatch.StartNew();
        var random = new Random(20261201);
        var sample = tenants.OrderBy(_ => random.Next()).Take(options.Deliveries).ToList();
        var spacing = TimeSpan.FromSeconds(options.PollSeconds * 0.8 / Math.Max(1, sample.Count));
        foreach (var tenant in sample)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(spacing.TotalMilliseconds * (0.5 + random.NextDouble())));
            var info = new TenantInfo(tenant, tenant, TenantStatus.Active, SchemaName.ForTenant(tenant));
            var message = OutgoingMessage.Create("InsightModel", MessagePriority.Normal, JsonSerializer.Serialize(new { sentAt = DateTime.UtcNow.Ticks }));
            var enqueue = Stopwatch.StartNew();
            await new QueueWriter().EnqueueAsync(connections, info, [message], CancellationToken.None);
            enqueues[tenant] = enqueue.Elapsed.TotalMilliseconds;
        }

        var remaining = TimeSpan.FromSeconds(options.PollSeconds) - window.Elapsed;
        if (remaining > TimeSpan.Zero)
        {
            await Task.Delay(remaining);
        }

        var seconds = window.Elapsed.TotalSeconds;
        var commits = await CommitsAsync(catalog) - commitsBefore;
        var cpu = CpuSeconds(bench.Host.Id) - cpuBefore;
        var rss = bench.Host.WorkingSet();
        var hostPauses = await api.GcPausesAsync() - hostPausesBefore;
        var benchPauses = GC.GetTotalPauseDuration() - benchPausesBefore;
        await stop.CancelAsync();
        Console.Error.WriteLine("fleet: waiting for the last polls to end");
        await Task.WhenAll(clients);
        foreach (var (reason, count) in failures.OrderByDescending(f => f.Value).Take(5))
        {
            Console.Error.WriteLine($"fleet: {count} polls failed: {reason}");
        }

        // Where the slowest deliveries waited: a poll younger than its message's latency was sent after the enqueue (the
        // message arrived between two polls of its client).
        var slowest = string.Join("; ", deliveries.OrderByDescending(d => d.Latency).Take(5)
            .Select(d => string.Create(CultureInfo.InvariantCulture, $"{d.Latency:F0} ms (enqueue {enqueues.GetValueOrDefault(d.Tenant):F0} ms, poll {d.PollAge:F0} ms old)")));
        var betweenPolls = deliveries.Count(d => d.PollAge < d.Latency);
        var pauses = string.Create(CultureInfo.InvariantCulture, $"garbage collection pauses: host {hostPauses.TotalMilliseconds:F0} ms, bench {benchPauses.TotalMilliseconds:F0} ms");
        return new Polls(tenants.Count, seconds, commits, cpu, rss, Summary.Of(latencies), sample.Count, errors, slowest, betweenPolls, pauses);
    }

    /// <summary>Transactions committed in the database so far (PostgreSQL's cumulative statistics, flushed about every second).</summary>
    private static async Task<long> CommitsAsync(NpgsqlDataSource catalog)
    {
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        await using var command = catalog.CreateCommand("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>User and system processor time of a process, in seconds (from <c>/proc/&lt;pid&gt;/stat</c>).</summary>
    private static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    /// <summary>
    /// A worker and scheduler host started on the fleet: at its start the scheduler looks at every tenant once. Measures
    /// until every run it caused has ended, and the catalog rows written meanwhile.
    /// </summary>
    private static async Task<Interval> SchedulerIntervalAsync(BenchHost bench, NpgsqlDataSource catalog, int fleet, List<string> changed)
    {
        var folder = Directory.CreateTempSubdirectory("insights-fleet-");
        try
        {
            var run = Guid.NewGuid().ToString("N")[..6];
            var at = DateTimeOffset.UtcNow.AddMinutes(-1).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
            await File.WriteAllLinesAsync(Path.Combine(folder.FullName, "models.ndjson"), changed.SelectMany(tenant => Enumerable.Range(1, 100).Select(i =>
                JsonSerializer.Serialize(new Dictionary<string, object?>
                {
                    ["tenant_id"] = tenant,
                    ["id"] = $"{tenant}-{run}-{i:D3}",
                    ["insight"] = Insight,
                    ["module"] = "SIGAFIN",
                    ["key"] = i.ToString(CultureInfo.InvariantCulture),
                    ["payload"] = new { value = i },
                    ["version"] = 1,
                    ["updated_at"] = at,
                    ["deleted"] = false,
                }))));
            var rowsBefore = await CatalogRowsWrittenAsync(catalog);
            var watch = Stopwatch.StartNew();
            // Stopped with the bench host at the end of the run.
            await bench.StartAnotherAsync(new Dictionary<string, string>
            {
                ["Roles"] = "worker,scheduler",
                ["Ingestion__Local__Folder"] = folder.FullName,
                ["Ingestion__Interval"] = "01:00:00",
            });

            // Ended: every changed tenant has its models, and no run is queued or running for a few seconds in a row.
            var quiet = 0;
            while (quiet < 3)
            {
                await Task.Delay(TimeSpan.FromSeconds(1));
                quiet = await PendingRunsAsync(catalog) == 0 && await IngestedAsync(catalog, changed, run) ? quiet + 1 : 0;
                if (watch.Elapsed > TimeSpan.FromMinutes(30))
                {
                    throw new TimeoutException("The scheduler interval did not end within 30 minutes.");
                }
            }

            var duration = watch.Elapsed - TimeSpan.FromSeconds(3);
            var rows = await CatalogRowsWrittenAsync(catalog) - rowsBefore;
            return new Interval(fleet, changed.Count, duration, rows);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static async Task<long> PendingRunsAsync(NpgsqlDataSource catalog)
    {
        await using var command = catalog.CreateCommand("SELECT count(*) FROM catalog.ingestion_runs WHERE status IN ('queued', 'running')");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<bool> IngestedAsync(NpgsqlDataSource catalog, List<string> changed, string run)
    {
        var last = changed[^1];
        await using var command = catalog.CreateCommand($"SELECT count(*) FROM {SchemaName.ForTenant(last).Quoted}.insight_models WHERE id LIKE $1");
        command.Parameters.Add(new NpgsqlParameter { Value = $"{last}-{run}-%" });
        return (long)(await command.ExecuteScalarAsync())! == 100;
    }

    /// <summary>Rows inserted, updated and deleted in the catalog's tables so far (cumulative statistics).</summary>
    private static async Task<long> CatalogRowsWrittenAsync(NpgsqlDataSource catalog)
    {
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        await using var command = catalog.CreateCommand(
            "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::bigint FROM pg_stat_user_tables WHERE schemaname = 'catalog'");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private sealed record Options(
        int Tenants, int Clients, int ReadSeconds, int WarmPasses, int Polls, int PollSeconds, int Deliveries, int Provisions, string Database, bool Interval, string? Connection);

    private sealed record Load(int Tenants, double Rate, Summary Latency, BackendMemory? PeakBackends, string Cpu = "");

    private sealed record Polls(
        int Clients, double Seconds, long Commits, double HostCpuSeconds, long HostRss, Summary Delivery, int Sent, int Errors, string Slowest, int BetweenPolls, string Pauses)
    {
        public double StatementsPerClient => Commits / Seconds / Clients;
    }

    private sealed record Interval(int Fleet, int Changed, TimeSpan Duration, long CatalogRows);

    /// <summary>Requests with tokens minted by the bench host's development key.</summary>
    private sealed class Api(HttpClient http, BenchHost bench)
    {
        private readonly ConcurrentDictionary<string, string> tokens = new(StringComparer.Ordinal);

        public string Admin => bench.AdminToken;

        public string Token(string tenantId) => tokens.GetOrAdd(tenantId, bench.TenantToken);

        /// <summary>The host's garbage collection pauses so far, from its Prometheus metrics.</summary>
        public async Task<TimeSpan> GcPausesAsync()
        {
            using var response = await SendAsync(HttpMethod.Get, "/metrics", Admin);
            var text = await response.Content.ReadAsStringAsync();
            var line = text.Split('\n').FirstOrDefault(l => l.StartsWith("dotnet_gc_pause_time_seconds_total", StringComparison.Ordinal));
            return line is null
                ? TimeSpan.Zero
                : TimeSpan.FromSeconds(double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
        }

        /// <summary>Sends one request; anything but 2xx is an error.</summary>
        public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string token, object? body = null)
        {
            using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            if (body is not null)
            {
                request.Content = JsonContent.Create(body);
            }

            var response = await http.SendAsync(request);
            if (!response.IsSuccessStatusCode)
            {
                var text = await response.Content.ReadAsStringAsync();
                response.Dispose();
                throw new InvalidOperationException($"{method} {path} answered {(int)response.StatusCode}: {(text.Length > 300 ? text[..300] : text)}");
            }

            return response;
        }
    }

    private sealed record Report(
        Options Options, string ServerVersion, string Machine, int Fleet, Load ReadFew, Load ReadAll, Load ReceiveFew, Load ReceiveAll,
        BackendMemory Before, BackendMemory After, BackendMemory Peak, BackendMemory AfterPolls, Polls Polls, Interval? Interval, Summary Provisioning, Summary Raw)
    {
        public void Print(TextWriter output)
        {
            static string Mb(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0 / 1024.0:F0} MB");
            static string Verdict(bool met) => met ? "met" : "MISSED";
            void Line(string text) => output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{text}"));

            output.WriteLine();
            Line($"fleet: {Fleet} tenants on one PostgreSQL {ServerVersion}; {Options.Clients} clients; {Machine}");
            output.WriteLine();
            Line($"(a) {Options.ReadSeconds} s each, round-robin     req/s     p50 ms   p99 ms");
            foreach (var (name, few, all) in new[] { ("GET /insight-models?limit=1", ReadFew, ReadAll), ("POST /smartlink/receive", ReceiveFew, ReceiveAll) })
            {
                Line($"  {name,-28} {few.Tenants,6} {few.Rate,8:F0} {few.Latency.P50,9:F1} {few.Latency.P99,8:F1}");
                Line($"  {"",-28} {all.Tenants,6} {all.Rate,8:F0} {all.Latency.P50,9:F1} {all.Latency.P99,8:F1}");
                var rate = all.Rate / few.Rate;
                var p50 = all.Latency.P50 / few.Latency.P50;
                Line($"  {"",-28} ratio  {rate,7:F2}x {p50,8:F2}x          target >= {ThroughputRatioTarget}x, <= {LatencyRatioTarget}x: {Verdict(rate >= ThroughputRatioTarget && p50 <= LatencyRatioTarget)}");
                Line($"    {few.Tenants}: {few.Cpu}");
                Line($"    {all.Tenants}: {all.Cpu}");
            }

            output.WriteLine();
            Line($"(b) PostgreSQL client backends, private memory (sum; largest)                  target <= {Mb(BackendMemoryTargetBytes)}");
            Line($"  before (a)        {Before.Backends,4} backends {Mb(Before.PrivateDirtyBytes),8}; {Mb(Before.MaxPrivateDirtyBytes)}");
            Line($"  during (a), peak  {Peak.Backends,4} backends {Mb(Peak.PrivateDirtyBytes),8}; {Mb(Peak.MaxPrivateDirtyBytes)}   {Verdict(Peak.PrivateDirtyBytes <= BackendMemoryTargetBytes)}");
            Line($"  after (a)         {After.Backends,4} backends {Mb(After.PrivateDirtyBytes),8}; {Mb(After.MaxPrivateDirtyBytes)}   {Verdict(After.PrivateDirtyBytes <= BackendMemoryTargetBytes)}");
            Line($"  after (c)         {AfterPolls.Backends,4} backends {Mb(AfterPolls.PrivateDirtyBytes),8}; {Mb(AfterPolls.MaxPrivateDirtyBytes)}   {Verdict(AfterPolls.PrivateDirtyBytes <= BackendMemoryTargetBytes)}");
            output.WriteLine();
            Line($"(c) {Polls.Clients} long polls (waitSeconds 20) on empty queues, {Polls.Seconds:F0} s; {Polls.Sent} messages enqueued meanwhile; {Polls.Errors} failed requests");
            Line($"  transactions per second per waiting client {Polls.StatementsPerClient,8:F4}   target <= {StatementsPerClientTarget}: {Verdict(Polls.StatementsPerClient <= StatementsPerClientTarget)}");
            Line($"  ({Polls.Commits} commits in all, deliveries and their acks included)");
            Line($"  enqueue to delivery, {Polls.Delivery.Count} messages  {Polls.Delivery}   target p99 <= {DeliveryP99TargetMs} ms: {Verdict(Polls.Delivery.P99 <= DeliveryP99TargetMs)}");
            Line($"    slowest: {Polls.Slowest}; {Polls.BetweenPolls} arrived between two polls of their client");
            Line($"    {Polls.Pauses}");
            Line($"  host processor time {Polls.HostCpuSeconds:F1} s ({Polls.HostCpuSeconds / Polls.Seconds * 100:F0} % of a core); RSS {Mb(Polls.HostRss)}   target <= {Mb(HostRssTargetBytes)}: {Verdict(Polls.HostRss <= HostRssTargetBytes)}");
            output.WriteLine();
            if (Interval is { } interval)
            {
                Line($"(d) one scheduler interval over {interval.Fleet} tenants, {interval.Changed} with 100 new models: {interval.Duration.TotalSeconds:F1} s, {interval.CatalogRows} catalog rows written ({interval.CatalogRows / (double)interval.Fleet:F2} per tenant of the fleet, {interval.CatalogRows / (double)interval.Changed:F1} per changed tenant)");
            }
            else
            {
                Line("(d) not measured (--no-interval)");
            }
            output.WriteLine();
            var ratio = Provisioning.P50 / Raw.P50;
            Line($"(e) POST /tenants at {Fleet} tenants, {Provisioning.Count} one at a time  {Provisioning}");
            Line($"    raw DDL of the same schema (baseline)       {Raw}");
            Line($"    ratio of p50 {ratio:F2}x   target <= {ProvisioningRatioTarget}x: {Verdict(ratio <= ProvisioningRatioTarget)}");
        }
    }
}
