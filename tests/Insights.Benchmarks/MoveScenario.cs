using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Insights.Tenancy;

namespace Insights.Benchmarks;

/// <summary>
/// A tenant with 100,000 stored models and 100,000 queued messages moved from <c>main</c> to a second PostgreSQL server
/// while a client receives and acks: the move's time, the longest interval in which the client got no message (beside the
/// longest one of the same client before the move, the baseline), the 503 answers, messages lost and delivered twice.
/// </summary>
internal static class MoveScenario
{
    private const string TenantId = "bench-move";
    private const string DefaultStore = "Host=127.0.0.1;Port=5433;Database=insights;Username=insights;Password=insights";

    public static async Task<int> RunAsync(string[] args)
    {
        var count = BenchHost.Option(args, "--models", 100_000);
        var folder = Directory.CreateTempSubdirectory("insights-bench-move-");
        try
        {
            await IngestScenario.WriteNdjsonAsync(Path.Combine(folder.FullName, "models.ndjson"), TenantId, IngestScenario.Generate(count));
            await using var store2 = await BenchDatabase.CreateAsync(
                Environment.GetEnvironmentVariable("INSIGHTS_BENCH_POSTGRES_STORE") is { Length: > 0 } bench ? bench
                : Environment.GetEnvironmentVariable("INSIGHTS_TEST_POSTGRES_STORE") is { Length: > 0 } test ? test
                : DefaultStore);
            var (storeConnection, _) = BenchHost.HostConnectionString(store2.ConnectionString, BenchHost.Argument(args, "--connection"));
            await using var host = await BenchHost.StartAsync(new Dictionary<string, string>
            {
                ["Ingestion__Source"] = "Local",
                ["Ingestion__Local__Folder"] = folder.FullName,
                ["Ingestion__Interval"] = "1.00:00:00",
                ["Stores__store2"] = storeConnection,
            }, BenchHost.Argument(args, "--connection"));
            using var admin = host.Client(host.AdminToken);
            (await admin.PutAsJsonAsync("/api/v1/insight-definitions/CashFlowForecast", new { module = "SIGAFIN", priority = "normal" })).EnsureSuccessStatusCode();
            using (var created = await admin.PostAsJsonAsync("/api/v1/tenants", new { id = TenantId, name = "Bench move", store = "main" }))
            {
                created.EnsureSuccessStatusCode();
            }

            // Provisioning's first run stores every model and enqueues a message for each.
            var ingested = await IngestScenario.WaitForRunAsync(admin, TenantId, null);
            Console.Error.WriteLine($"move: {ingested.Models} models stored, {ingested.Messages} messages queued");

            using var client = host.Client(host.TenantToken(TenantId));
            var consumer = new Consumer(client);
            using var stop = new CancellationTokenSource();
            var consuming = Task.Run(() => consumer.RunAsync(stop.Token));

            // The baseline: the same client's longest wait for a message over the same time, with nothing moving.
            await Task.Delay(TimeSpan.FromSeconds(3));
            var baseline = consumer.TakeLongestGap();

            var watch = Stopwatch.StartNew();
            using var moved = await admin.PostAsJsonAsync($"/api/v1/tenants/{TenantId}/move", new { store = "store2" });
            moved.EnsureSuccessStatusCode();
            var location = moved.Headers.Location!.ToString();
            JsonElement move;
            while (true)
            {
                move = await admin.GetFromJsonAsync<JsonElement>(location);
                if (move.GetProperty("status").GetString() is "succeeded" or "failed")
                {
                    break;
                }

                await Task.Delay(20);
            }

            var moveSeconds = watch.Elapsed.TotalSeconds;
            await Task.Delay(TimeSpan.FromSeconds(1));
            var during = consumer.TakeLongestGap();
            if (move.GetProperty("status").GetString() != "succeeded")
            {
                Console.Error.WriteLine($"move: failed: {move}");
                return 1;
            }

            // The rest of the queue, from the new store.
            var deadline = DateTime.UtcNow.AddMinutes(5);
            while (consumer.Distinct < ingested.Messages && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }

            await stop.CancelAsync();
            await consuming;
            var lost = ingested.Messages - consumer.Distinct;
            var twice = consumer.Deliveries - consumer.Distinct;
            var copied = (move.GetProperty("startedAt").GetDateTimeOffset(), move.GetProperty("switchedAt").GetDateTimeOffset());

            var output = Console.Out;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"move: a tenant with {ingested.Models} stored models and {ingested.Messages} queued messages moved main → store2 while a client receives and acks"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  move, request to succeeded        {moveSeconds,8:F2} s   (start to switch {(copied.Item2 - copied.Item1).TotalSeconds:F2} s; models copied {move.GetProperty("modelsCopied").GetInt64()}, messages copied {move.GetProperty("messagesCopied").GetInt64()})"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  writes held (switch)              {move.GetProperty("switchMs").GetDouble(),8:F0} ms"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  longest interval without a message {during,7:F0} ms during the move; baseline (same client, 3 s before) {baseline:F0} ms: {during / Math.Max(baseline, 1):F1}×"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  503 answers                       {consumer.Unavailable,8}"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  messages lost                     {lost,8}   (must be 0) {(lost == 0 ? "met" : "NOT MET")}"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  delivered twice                   {twice,8}   (leases of 600 s: none expire)"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  client throughput                 {consumer.Deliveries / consumer.Elapsed.TotalSeconds,8:F0} msgs/s over {consumer.Elapsed.TotalSeconds:F1} s"));
            return lost == 0 ? 0 : 1;
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>A client receiving 100 at a time and acking each batch, retrying what is answered 503.</summary>
    private sealed class Consumer(HttpClient client)
    {
        private readonly HashSet<Guid> seen = [];
        private readonly Stopwatch clock = Stopwatch.StartNew();
        private readonly object gate = new();
        private double lastMessageMs;
        private double longestGapMs;

        public long Deliveries { get; private set; }

        public int Unavailable { get; private set; }

        public int Distinct
        {
            get
            {
                lock (gate)
                {
                    return seen.Count;
                }
            }
        }

        public TimeSpan Elapsed => clock.Elapsed;

        /// <summary>The longest wait for a message since the last call.</summary>
        public double TakeLongestGap()
        {
            lock (gate)
            {
                var now = clock.Elapsed.TotalMilliseconds;
                var longest = Math.Max(longestGapMs, now - lastMessageMs);
                longestGapMs = 0;
                return longest;
            }
        }

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            lastMessageMs = clock.Elapsed.TotalMilliseconds;
            while (!cancellationToken.IsCancellationRequested)
            {
                using var response = await client.PostAsJsonAsync("/api/v1/smartlink/receive", new { max = 100, visibilityTimeoutSeconds = 600, waitSeconds = 1 }, CancellationToken.None);
                if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    Unavailable++;
                    continue;
                }

                response.EnsureSuccessStatusCode();
                var messages = (await response.Content.ReadFromJsonAsync<JsonElement>(CancellationToken.None)).GetProperty("messages").EnumerateArray().ToList();
                if (messages.Count == 0)
                {
                    continue;
                }

                lock (gate)
                {
                    var now = clock.Elapsed.TotalMilliseconds;
                    longestGapMs = Math.Max(longestGapMs, now - lastMessageMs);
                    lastMessageMs = now;
                    foreach (var message in messages)
                    {
                        seen.Add(message.GetProperty("message").GetProperty("id").GetGuid());
                    }

                    Deliveries += messages.Count;
                }

                var receipts = messages.Select(m => m.GetProperty("receipt").GetString()).ToArray();
                while (true)
                {
                    using var ack = await client.PostAsJsonAsync("/api/v1/smartlink/ack", new { receipts }, CancellationToken.None);
                    if (ack.StatusCode == HttpStatusCode.ServiceUnavailable)
                    {
                        Unavailable++;
                        continue;
                    }

                    ack.EnsureSuccessStatusCode();
                    break;
                }
            }
        }
    }
}
