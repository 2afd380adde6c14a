using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Npgsql;

namespace Insights.Benchmarks;

/// <summary>
/// <c>GET /api/v1/fleet/health</c> over the <c>fleet</c> scenario's 10,000 tenants (database <c>insights_fleet</c>): each
/// sort, first pages and pages further in by their cursor, one request at a time, on the api role.
/// </summary>
internal static class HealthScenario
{
    private const double P99TargetMs = 50;
    private static readonly string[] Sorts = ["oldestVisibleAge", "lastReceiveAt", "dead", "processingFailures", "ingestionLag"];

    public static async Task<int> RunAsync(string[] args)
    {
        var requests = BenchHost.Option(args, "--requests", 200);
        var limit = BenchHost.Option(args, "--limit", 50);
        var database = await BenchDatabase.OpenOrCreateAsync(BenchHost.PostgresSetting(), BenchHost.Argument(args, "--database") ?? "insights_fleet");
        await MixIngestionStatesAsync(database.ConnectionString);
        await using var bench = await BenchHost.StartAsync(new Dictionary<string, string> { ["Roles"] = "api" }, BenchHost.Argument(args, "--connection"), database);
        using var admin = bench.Client(bench.AdminToken);
        Console.Out.WriteLine();
        Console.Out.WriteLine($"health: GET /api/v1/fleet/health?limit={limit} on {database.Name}, {requests} requests per sort after 20 to warm up, one at a time");
        Console.Out.WriteLine($"  {Environment.ProcessorCount} cores, load average (1 min) {BenchHost.LoadAverage()}");
        Console.Out.WriteLine();
        Console.Out.WriteLine("  sort                    p50 ms    p99 ms    max ms   target p99");
        var met = true;
        foreach (var sort in Sorts)
        {
            var times = new List<double>(requests);
            string? cursor = null;
            for (var i = 0; i < requests + 20; i++)
            {
                // Every fifth request starts over; the others follow the cursor, deeper into the fleet.
                var path = $"/api/v1/fleet/health?sort={sort}&limit={limit}" + (cursor is not null && i % 5 != 0 ? "&cursor=" + Uri.EscapeDataString(cursor) : "");
                var watch = Stopwatch.StartNew();
                using var response = await admin.GetAsync(path);
                var body = await response.Content.ReadAsStringAsync();
                watch.Stop();
                if (!response.IsSuccessStatusCode)
                {
                    Console.Error.WriteLine($"health: {path} answered {(int)response.StatusCode}: {body}");
                    return 1;
                }

                using var page = JsonDocument.Parse(body);
                cursor = page.RootElement.TryGetProperty("nextCursor", out var next) && next.ValueKind == JsonValueKind.String ? next.GetString() : null;
                if (i >= 20)
                {
                    times.Add(watch.Elapsed.TotalMilliseconds);
                }
            }

            var summary = Summary.Of(times);
            met &= summary.P99 <= P99TargetMs;
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {sort,-20} {summary.P50,9:F1} {summary.P99,9:F1} {summary.Max,9:F1}   <= {P99TargetMs:F0} ms: {(summary.P99 <= P99TargetMs ? "met" : "MISSED")}"));
        }

        return met ? 0 : 1;
    }

    /// <summary>
    /// Ingestion as in a fleet some of whose tenants do not ride the sweep: the last sweep read the fleet 30 min ago;
    /// 10 % of the tenants were read by their own runs over the last hour, and 1 % of the riders by their own run since
    /// the sweep. The <c>sweep</c> scenario sets every tenant riding again.
    /// </summary>
    private static async Task MixIngestionStatesAsync(string connectionString)
    {
        await using var catalog = NpgsqlDataSource.Create(connectionString);
        await using var batch = catalog.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand("DELETE FROM catalog.ingestion_sweeps WHERE status IN ('queued', 'running')"));
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            """
            INSERT INTO catalog.ingestion_sweeps (id, status, requested_at, started_at, finished_at)
            VALUES (gen_random_uuid(), 'succeeded', now() - interval '30 minutes', now() - interval '30 minutes', now() - interval '30 minutes')
            """));
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            """
            UPDATE catalog.ingestion_cursors SET
                riding_since = CASE WHEN abs(hashtext(tenant_id)) % 10 = 0 THEN NULL ELSE now() - interval '1 day' END,
                checked_at = CASE WHEN abs(hashtext(tenant_id)) % 10 = 0 THEN now() - random() * interval '1 hour'
                                  WHEN abs(hashtext(tenant_id)) % 100 = 1 THEN now() - random() * interval '30 minutes'
                                  ELSE now() - interval '1 day' END
            """));
        await batch.ExecuteNonQueryAsync();
    }
}
