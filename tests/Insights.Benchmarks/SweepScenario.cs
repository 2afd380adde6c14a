using System.Diagnostics;
using System.Globalization;
using Google.Apis.Auth.OAuth2;
using Insights.BigQuery;
using Insights.Ingestion;
using Insights.IntegrationTests.Fakes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;

namespace Insights.Benchmarks;

/// <summary>
/// One scheduler interval of a fleet through BigQuery (the wire-faithful fake server, billing as BigQuery does on
/// demand): the fleet sweep — one query job for all tenants — against the per-tenant way, one query per tenant from its
/// cursor, on the same table. The table holds a week of history (older daily partitions) and the interval's changes:
/// 1 % of the tenants with 100 changed models each. The fleet is the <c>fleet</c> scenario's (database
/// <c>insights_fleet</c>), every tenant riding the sweep, as in a fleet's steady state; the host runs in this process.
/// </summary>
internal static class SweepScenario
{
    private const string Table = "insights.insight_models";
    private const string Insight = "CashFlowForecast";
    private const double BillReductionTarget = 100;
    private const double DurationTargetSeconds = 30;

    public static async Task<int> RunAsync(string[] args)
    {
        var tenantsWanted = BenchHost.Option(args, "--tenants", 10_000);
        var changedPercent = BenchHost.Option(args, "--changed-percent", 1);
        var models = BenchHost.Option(args, "--models", 100);
        var historyDays = BenchHost.Option(args, "--history-days", 7);
        var historyPerTenant = BenchHost.Option(args, "--history", 10);
        var sample = BenchHost.Option(args, "--baseline-sample", 1000);
        var intervalMinutes = BenchHost.Option(args, "--interval-minutes", 5);
        var databaseName = BenchHost.Argument(args, "--database") ?? "insights_fleet";

        var database = await BenchDatabase.OpenOrCreateAsync(BenchHost.PostgresSetting(), databaseName);
        await using var catalog = NpgsqlDataSource.Create(database.ConnectionString);
        var tenants = await FleetTenantsAsync(catalog, tenantsWanted);
        if (tenants.Count < tenantsWanted)
        {
            Console.Error.WriteLine($"sweep: the database {databaseName} holds {tenants.Count} fleet tenants; run the fleet scenario first to provision {tenantsWanted}");
            return 1;
        }

        await using var fake = await FakeBigQuery.StartAsync();
        var now = DateTimeOffset.UtcNow;
        var run = Guid.NewGuid().ToString("N")[..6];
        var random = new Random(20261201);
        var changed = tenants.Where((_, i) => i % (100 / changedPercent) == 0).ToList();
        foreach (var (tenant, index) in tenants.Select((t, i) => (t, i)))
        {
            for (var h = 0; h < historyPerTenant; h++)
            {
                fake.Table.Add(new FakeTableRow(tenant, Model($"{tenant}-history-{h}", now.AddDays(-1 - (h % historyDays)).AddMinutes(-index % 600))));
            }
        }

        foreach (var tenant in changed)
        {
            for (var m = 0; m < models; m++)
            {
                // Changed over the last interval.
                fake.Table.Add(new FakeTableRow(tenant, Model($"{tenant}-{run}-{m:D3}", now.AddSeconds(-random.Next(intervalMinutes * 60)))));
            }
        }

        Console.Error.WriteLine($"sweep: {fake.Table.Count} rows in the table, {changed.Count} tenants with {models} changed models each");
        // The steady state: every tenant rides the sweep; the last sweep read the source one interval ago, and each tenant's
        // own cursor (for the per-tenant way) is there too.
        var previous = now.AddMinutes(-intervalMinutes);
        var keyFolder = Directory.CreateTempSubdirectory("insights-sweep-");
        try
        {
            // The host's content root: the service's project folder (the test host looks for it by the assembly's name).
            Environment.SetEnvironmentVariable("ASPNETCORE_TEST_CONTENTROOT_INSIGHTS_API", ServiceFolder());

            // A host of the api role first, which brings the catalog to the current migrations.
            await using (var migrating = Host("api"))
            {
                _ = migrating.Services;
            }

            await PrepareFleetAsync(catalog, tenants, previous);
            await using var host = Host("worker,scheduler");

            // Starting the host starts the scheduler, which queues the interval's sweep at once.
            var watch = Stopwatch.StartNew();
            _ = host.Services;
            var sweep = await WaitForSweepAsync(catalog, TimeSpan.FromMinutes(10));
            watch.Stop();
            var sweepJobs = fake.Queries.Count;
            var lag = await LagAsync(catalog, changed, run);

            Console.Error.WriteLine($"sweep: the per-tenant way on {Math.Min(sample, tenants.Count)} tenants, each read from its cursor");
            var source = host.Services.GetRequiredService<BigQueryInsightSource>();
            var sampled = tenants.Where((_, i) => i % Math.Max(1, tenants.Count / sample) == 0).Take(sample).ToList();
            var perTenant = await PerTenantAsync(source, sampled, previous, fake);
            var scale = (double)tenants.Count / sampled.Count;
            return Report(tenants.Count, changed.Count, models, historyDays, intervalMinutes, fake, sweep, sweepJobs, lag, watch.Elapsed, perTenant, sampled.Count, scale);
        }
        finally
        {
            keyFolder.Delete(recursive: true);
            await database.DisposeAsync();
        }

        // Any type of the service's assembly names its entry point (this project has a Program of its own).
        WebApplicationFactory<FleetSweepRunner> Host(string roles) =>
            new WebApplicationFactory<FleetSweepRunner>().WithWebHostBuilder(builder =>
            {
                builder.UseEnvironment("Development");
                foreach (var (key, value) in new Dictionary<string, string>
                {
                    ["ConnectionStrings:Insights"] = database.ConnectionString + ";Maximum Pool Size=20;SSL Mode=Disable",
                    ["Authentication:DevelopmentKeyPath"] = Path.Combine(keyFolder.FullName, "key.pem"),
                    ["Bus:Transport"] = "InMemory",
                    ["Roles"] = roles,
                    ["Logging:LogLevel:Default"] = "Warning",
                    ["Ingestion:Source"] = "BigQuery",
                    ["Ingestion:BigQuery:Table"] = Table,
                    ["Ingestion:Interval"] = "01:00:00",
                    ["BigQuery:BaseUrl"] = fake.BaseUrl,
                    ["BigQuery:ProjectId"] = "insights-bench",
                    ["BigQuery:Retry:InitialDelayMs"] = "1",
                    ["BigQuery:Retry:MaxPollDelayMs"] = "2",
                    ["BigQuery:Retry:DeadlineSeconds"] = "30",
                })
                {
                    builder.UseSetting(key, value);
                }

                builder.ConfigureServices(s =>
                {
                    s.RemoveAllKeyed<ITokenAccess>(BigQuerySetup.TokenAccessKey);
                    s.AddKeyedSingleton<ITokenAccess>(BigQuerySetup.TokenAccessKey, GoogleCredential.FromAccessToken("bench-token"));
                });
            });
    }

    private static int Report(
        int tenants, int changed, int models, int historyDays, int intervalMinutes, FakeBigQuery fake, SweepRecord sweep, int sweepJobs, Summary lag,
        TimeSpan started, PerTenant perTenant, int sampled, double scale)
    {
        var price = 6.25m;
        var perDay = 24 * 60 / intervalMinutes;
        var rows = fake.Table.Count;
        var sweepDollarsPerDay = BigQueryCost.Estimate(sweep.BytesBilled, price) * perDay;
        var perTenantBilled = (long)(perTenant.BytesBilled * scale);
        var perTenantDollarsPerDay = BigQueryCost.Estimate(perTenantBilled, price) * perDay;
        var reduction = (double)perTenantBilled / Math.Max(1, sweep.BytesBilled);
        var output = Console.Out;
        output.WriteLine();
        output.WriteLine($"sweep: {tenants} tenants, {changed} with {models} changed models; {rows} rows in {historyDays + 1} daily partitions; interval {intervalMinutes} min");
        output.WriteLine($"  {Environment.ProcessorCount} cores, load average (1 min) {BenchHost.LoadAverage()}");
        output.WriteLine();
        output.WriteLine("                                   fleet sweep     per-tenant way (baseline)   target");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  query jobs per interval          {sweepJobs,11}     {perTenant.Jobs * scale,11:F0}                 independent of the fleet"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  bytes billed per interval        {Mb(sweep.BytesBilled),11}     {Mb(perTenantBilled),11}                 >= {BillReductionTarget:F0}x lower: {reduction:F0}x {(reduction >= BillReductionTarget ? "met" : "MISSED")}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  estimated USD per day ({perDay}/day)  {sweepDollarsPerDay,11:F2}     {perTenantDollarsPerDay,11:F2}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  duration                         {sweep.Seconds,9:F1} s     {perTenant.Seconds * scale,9:F1} s (reads only)   <= {DurationTargetSeconds:F0} s: {(sweep.Seconds <= DurationTargetSeconds ? "met" : "MISSED")}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  rows read / applied / changed     {sweep.RowsRead} / {sweep.RowsRouted} / {sweep.RowsChanged}; tenants touched {sweep.Tenants}; host started and swept in {started.TotalSeconds:F1} s"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  lag of the changed tenants (applied - updated_at)  p50 {lag.P50 / 60_000:F1} min, p99 {lag.P99 / 60_000:F1} min   <= 2 intervals ({2 * intervalMinutes} min): {(lag.P99 <= 2 * intervalMinutes * 60_000 ? "met" : "MISSED")}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  (the per-tenant way measured on {sampled} tenants and scaled x{scale:F0}: {perTenant.Jobs} jobs, {Mb(perTenant.BytesBilled)} billed, {perTenant.Seconds:F1} s)"));
        return sweep.Status == "succeeded" ? 0 : 1;
    }

    private static string ServiceFolder()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "src", "Insights.Api");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("The folder src/Insights.Api was not found above the benchmark's folder.");
    }

    private static string Mb(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:F0} MB");

    private static SourceModel Model(string id, DateTimeOffset updatedAt) =>
        new(id, Insight, "SIGAFIN", id, "filial=01", null, null, """{"value":1,"text":"a changed insight model of the fleet benchmark"}""", 1,
            SourceTime.Truncate(updatedAt), false);

    private static async Task<List<string>> FleetTenantsAsync(NpgsqlDataSource catalog, int count)
    {
        await using var command = catalog.CreateCommand("SELECT id FROM catalog.tenants WHERE status = 'active' AND id LIKE 'fleet-%' ORDER BY id LIMIT $1");
        command.Parameters.Add(new NpgsqlParameter { Value = count });
        var ids = new List<string>(count);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    private static async Task PrepareFleetAsync(NpgsqlDataSource catalog, List<string> tenants, DateTimeOffset previous)
    {
        await using var batch = catalog.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            $"INSERT INTO catalog.insight_definitions (name, module, priority) VALUES ('{Insight}', 'SIGAFIN', 'normal') ON CONFLICT DO NOTHING"));
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            """
            INSERT INTO catalog.ingestion_cursors AS c (tenant_id, updated_at, id, moved_at, riding_since)
            SELECT id, $2, '', now(), now() FROM unnest($1::text[]) AS t(id)
            ON CONFLICT (tenant_id) DO UPDATE SET updated_at = EXCLUDED.updated_at, id = EXCLUDED.id, moved_at = now(),
                riding_since = now(), deferred_at = NULL
            """)
        {
            Parameters = { new() { Value = tenants.ToArray() }, new() { Value = previous } },
        });
        // The position a tenant's own run reads from is its store's (here the catalog's database).
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            """
            INSERT INTO insights_store.ingestion_cursors AS c (schema_name, updated_at, id)
            SELECT schema_name, $2, '' FROM catalog.tenants WHERE id = ANY($1)
            ON CONFLICT (schema_name) DO UPDATE SET updated_at = EXCLUDED.updated_at, id = EXCLUDED.id, moved_at = now()
            """)
        {
            Parameters = { new() { Value = tenants.ToArray() }, new() { Value = previous } },
        });
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            """
            INSERT INTO catalog.ingestion_fleet (watermark) VALUES ($1)
            ON CONFLICT (singleton) DO UPDATE SET watermark = EXCLUDED.watermark, moved_at = now()
            """)
        {
            Parameters = { new() { Value = previous } },
        });
        // This database is the benchmark's: the sweeps of earlier runs go, so the one of this run is the only one, and an
        // audit (the daily wider read) counts as done, so the sweep measured is an interval's.
        batch.BatchCommands.Add(new NpgsqlBatchCommand("DELETE FROM catalog.ingestion_sweeps"));
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            "INSERT INTO catalog.ingestion_sweeps (id, status, audit, started_at, finished_at) VALUES (gen_random_uuid(), 'succeeded', true, now(), now())"));
        await batch.ExecuteNonQueryAsync();
    }

    private sealed record SweepRecord(string Status, double Seconds, long RowsRead, long RowsRouted, long RowsChanged, int Tenants, long BytesBilled);

    private static async Task<SweepRecord> WaitForSweepAsync(NpgsqlDataSource catalog, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            await using (var command = catalog.CreateCommand(
                """
                SELECT status, extract(epoch FROM finished_at - started_at)::float8, rows_read, rows_routed, rows_changed, tenants_touched, bytes_billed, error
                FROM catalog.ingestion_sweeps WHERE NOT audit ORDER BY requested_at DESC LIMIT 1
                """))
            await using (var reader = await command.ExecuteReaderAsync())
            {
                if (await reader.ReadAsync() && reader.GetString(0) is not ("queued" or "running") and var status)
                {
                    if (status != "succeeded")
                    {
                        Console.Error.WriteLine($"sweep: the sweep ended {status}: {(reader.IsDBNull(7) ? "" : reader.GetString(7))}");
                    }

                    return new SweepRecord(status, reader.GetDouble(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt32(5), reader.GetInt64(6));
                }
            }

            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException("The sweep did not end.");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>For each changed tenant, from the newest changed row's updated_at to when the sweep applied it.</summary>
    private static async Task<Summary> LagAsync(NpgsqlDataSource catalog, List<string> changed, string run)
    {
        await using var command = catalog.CreateCommand(
            "SELECT extract(epoch FROM moved_at - updated_at)::float8 * 1000 FROM catalog.ingestion_cursors WHERE tenant_id = ANY($1) AND id LIKE '%' || $2 || '%'");
        command.Parameters.Add(new NpgsqlParameter { Value = changed.ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = run });
        var lags = new List<double>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            lags.Add(reader.GetDouble(0));
        }

        if (lags.Count < changed.Count)
        {
            Console.Error.WriteLine($"sweep: only {lags.Count} of {changed.Count} changed tenants have their rows applied");
        }

        return Summary.Of(lags);
    }

    private sealed record PerTenant(int Jobs, long BytesBilled, double Seconds);

    /// <summary>What the per-tenant way reads for these tenants: one query each after its cursor, four at a time (the workers' default).</summary>
    private static async Task<PerTenant> PerTenantAsync(BigQueryInsightSource source, List<string> tenants, DateTimeOffset cursor, FakeBigQuery fake)
    {
        var jobsBefore = fake.Queries.Count;
        long billed = 0;
        var watch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(tenants, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (tenant, cancellationToken) =>
        {
            await foreach (var page in source.ReadAsync(tenant, new SourceCursor(cursor, ""), 2500, cancellationToken))
            {
                Interlocked.Add(ref billed, page.BytesBilled > 0 ? page.BytesBilled : page.BytesProcessed);
            }
        });
        return new PerTenant(fake.Queries.Count - jobsBefore, billed, watch.Elapsed.TotalSeconds);
    }
}
