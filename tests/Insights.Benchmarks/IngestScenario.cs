using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Insights.Database;
using Insights.Tenancy;
using Npgsql;
using NpgsqlTypes;

namespace Insights.Benchmarks;

/// <summary>
/// 200,000 models of ~1 KB from the local source into one tenant through a real run (store + enqueue + cursor), a raw
/// binary COPY of the same rows into an equivalent table in the same run, then the same data again (nothing changed).
/// </summary>
internal static class IngestScenario
{
    private const double TargetModelsPerSecond = 25_000;
    private const double TargetRatio = 0.4;
    private const string TenantId = "bench-ingest";
    private const string WarmTenantId = "bench-ingest-warm";

    internal sealed record Row(string Id, string Payload, DateTimeOffset UpdatedAt);

    public static async Task<int> RunAsync(string[] args)
    {
        var count = args.Length > 1 && args[0] == "--models" ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200_000;
        var folder = Directory.CreateTempSubdirectory("insights-bench-ingest-");
        try
        {
            var rows = Generate(count);
            await WriteNdjsonAsync(Path.Combine(folder.FullName, "models.ndjson"), TenantId, rows);
            await WriteNdjsonAsync(Path.Combine(folder.FullName, "warm-up.ndjson"), WarmTenantId, rows);
            await using var bench = await BenchHost.StartAsync(new Dictionary<string, string>
            {
                ["Ingestion__Source"] = "Local",
                ["Ingestion__Local__Folder"] = folder.FullName,
                ["Ingestion__Interval"] = "1.00:00:00",
                ["Logging__LogLevel__Insights.Ingestion"] = "Information",
            }, BenchHost.Argument(args, "--connection"));
            using var admin = bench.Client(bench.AdminToken);
            (await admin.PutAsJsonAsync("/api/v1/insight-definitions/CashFlowForecast", new { module = "SIGAFIN", priority = "normal" })).EnsureSuccessStatusCode();
            var load = BenchHost.LoadAverage();

            // A worker that has run before, not one just started: code called once per page (the database calls) is
            // optimised only after some dozens of calls, so the warm-up is two runs of the same size on another tenant
            // (the second after its models are removed, so it stores and enqueues them again). Its tables are then
            // vacuumed, so no autovacuum of them runs during the measured phases.
            await using var dataSource = NpgsqlDataSource.Create(bench.ConnectionString);
            await BenchHost.ProvisionAsync(admin, WarmTenantId);
            await WaitForRunAsync(admin, WarmTenantId, null);
            await RunAgainAsync(admin, dataSource, WarmTenantId, removeModels: true);
            var warm = SchemaName.ForTenant(WarmTenantId).Quoted;
            await using (var vacuum = dataSource.CreateCommand($"VACUUM (ANALYZE) {warm}.insight_models, {warm}.queue_messages"))
            {
                vacuum.CommandTimeout = 600;
                await vacuum.ExecuteNonQueryAsync();
            }

            await CpuMeter.WaitForQuietJitAsync(bench.HostIds, TimeSpan.FromSeconds(30));

            // Provisioning starts the first run at once.
            await BenchHost.CheckpointAsync(bench.ConnectionString);
            var cpu = CpuMeter.Start(bench.HostIds);
            await BenchHost.ProvisionAsync(admin, TenantId);
            var first = await WaitForRunAsync(admin, TenantId, null);
            var firstCpu = cpu.Report(count, "model");

            await BenchHost.CheckpointAsync(bench.ConnectionString);
            cpu = CpuMeter.Start(bench.HostIds);
            var again = await RunAgainAsync(admin, dataSource, TenantId, removeModels: false);

            var againCpu = cpu.Report(count, "model");
            await BenchHost.CheckpointAsync(bench.ConnectionString);
            cpu = CpuMeter.Start(bench.HostIds);
            var raw = await RawCopyAsync(dataSource, rows);
            var rawCpu = cpu.Report(count, "model");

            var output = Console.Out;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ingest: {count} models of ~1 KB from the local source into one tenant"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {Environment.ProcessorCount} cores, load average (1 min) {load} at start, {BenchHost.LoadAverage()} at end"));
            output.WriteLine();
            output.WriteLine("                                            models/s   seconds  messages   target");
            output.WriteLine(Line("run: store + enqueue + cursor", first, $">= {TargetModelsPerSecond:F0}", first.Rate >= TargetModelsPerSecond));
            output.WriteLine(Line("raw binary COPY (baseline)", raw, "", null));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {"run / raw COPY",-40} {first.Rate / raw.Rate,9:F2}x                       >= {TargetRatio:F1}x     {(first.Rate / raw.Rate >= TargetRatio ? "met" : "NOT MET")}"));
            output.WriteLine(Line("same data again (nothing changed)", again, "0 messages, faster", again.Messages == 0 && again.Seconds < first.Seconds));
            output.WriteLine();
            output.WriteLine($"  run: {firstCpu}");
            output.WriteLine($"  raw COPY: {rawCpu}");
            output.WriteLine($"  again: {againCpu}");
            return first.Messages == count && again.Messages == 0 ? 0 : 1;
        }
        catch (Exception e) when (e is HttpRequestException or NpgsqlException or InvalidOperationException or TimeoutException)
        {
            Console.Error.WriteLine($"ingest: failed: {e.Message}");
            return 1;
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    internal sealed record Measure(long Models, long Messages, double Seconds)
    {
        public double Rate => Models / Seconds;
    }

    private static string Line(string label, Measure m, string target, bool? met) =>
        string.Create(CultureInfo.InvariantCulture,
            $"  {label,-40} {m.Rate,9:F0}  {m.Seconds,8:F1}  {m.Messages,8}   {target,-18} {(met is null ? "" : met.Value ? "met" : "NOT MET")}");

    /// <summary>Runs a tenant again from the start of its source (its cursor removed), optionally without its stored models.</summary>
    private static async Task<Measure> RunAgainAsync(HttpClient admin, NpgsqlDataSource dataSource, string tenantId, bool removeModels)
    {
        // The cursor is the tenant's store's (here the catalog's database); the catalog keeps a copy.
        await using (var reset = dataSource.CreateBatch())
        {
            reset.BatchCommands.Add(new NpgsqlBatchCommand(
                "DELETE FROM insights_store.ingestion_cursors WHERE schema_name = (SELECT schema_name FROM catalog.tenants WHERE id = $1)")
            {
                Parameters = { new() { Value = tenantId } },
            });
            reset.BatchCommands.Add(new NpgsqlBatchCommand("DELETE FROM catalog.ingestion_cursors WHERE tenant_id = $1") { Parameters = { new() { Value = tenantId } } });
            await reset.ExecuteNonQueryAsync();
        }

        if (removeModels)
        {
            await using var truncate = dataSource.CreateCommand($"TRUNCATE {SchemaName.ForTenant(tenantId).Quoted}.insight_models");
            await truncate.ExecuteNonQueryAsync();
        }

        var start = await admin.PostAsync($"/api/v1/tenants/{tenantId}/ingestions", null);
        start.EnsureSuccessStatusCode();
        return await WaitForRunAsync(admin, tenantId, (await start.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runId").GetGuid());
    }

    internal static async Task<Measure> WaitForRunAsync(HttpClient admin, string tenantId, Guid? runId)
    {
        var deadline = DateTime.UtcNow.AddMinutes(10);
        while (true)
        {
            await Task.Delay(250);
            var page = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{tenantId}/ingestions?limit=1");
            var run = page.GetProperty("items").EnumerateArray().FirstOrDefault();
            if (run.ValueKind == JsonValueKind.Object && (runId is null || run.GetProperty("id").GetGuid() == runId))
            {
                var status = run.GetProperty("status").GetString();
                if (status is "succeeded" or "failed" or "interrupted")
                {
                    if (status != "succeeded")
                    {
                        throw new InvalidOperationException($"The run ended {status}: {run.GetProperty("error")}");
                    }

                    var seconds = (run.GetProperty("finishedAt").GetDateTimeOffset() - run.GetProperty("startedAt").GetDateTimeOffset()).TotalSeconds;
                    return new Measure(run.GetProperty("rowsRead").GetInt64(), run.GetProperty("messagesEnqueued").GetInt64(), seconds);
                }
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The ingestion run did not finish within 10 minutes.");
            }
        }
    }

    internal static List<Row> Generate(int count)
    {
        var start = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
        var rows = new List<Row>(count);
        var filler = new string('x', 700);
        for (var i = 0; i < count; i++)
        {
            var payload = JsonSerializer.Serialize(new
            {
                saldoInicial = 1000.5 + i,
                entradas = new[] { 120.25, 330.75, i % 97 },
                saidas = new[] { 80.5, 45.25 },
                banco = "341",
                agencia = "0001",
                conta = (10000 + (i % 5000)).ToString(CultureInfo.InvariantCulture),
                observacao = filler,
            });
            rows.Add(new Row("cf-" + i.ToString("D7", CultureInfo.InvariantCulture), payload, start.AddSeconds(i)));
        }

        return rows;
    }

    internal static async Task WriteNdjsonAsync(string path, string tenantId, List<Row> rows)
    {
        await using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
        foreach (var row in rows)
        {
            await writer.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $$"""{"tenant_id":"{{tenantId}}","id":"{{row.Id}}","insight":"CashFlowForecast","module":"SIGAFIN","key":"{{row.Id}}","filter":"E5_FILIAL = '01'","date_from":"2026-11-01","date_to":"2026-11-30","payload":{{row.Payload}},"version":1,"updated_at":"{{row.UpdatedAt:yyyy-MM-ddTHH:mm:ssZ}}","deleted":false}"""));
        }
    }

    /// <summary>The same rows into an equivalent table with one binary COPY, committed.</summary>
    private static async Task<Measure> RawCopyAsync(NpgsqlDataSource dataSource, List<Row> rows)
    {
        await using (var create = dataSource.CreateCommand(
            """
            CREATE SCHEMA bench_raw;
            CREATE TABLE bench_raw.insight_models (
                id text PRIMARY KEY, insight text NOT NULL, module text NOT NULL, key text, filter text, date_from date, date_to date,
                payload jsonb NOT NULL, version bigint NOT NULL, updated_at timestamptz NOT NULL, deleted boolean NOT NULL DEFAULT false,
                stored_at timestamptz NOT NULL DEFAULT now());
            CREATE INDEX ON bench_raw.insight_models (insight, key, updated_at DESC);
            """))
        {
            await create.ExecuteNonQueryAsync();
        }

        var watch = Stopwatch.StartNew();
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var importer = await connection.BeginBinaryImportAsync(
            "COPY bench_raw.insight_models (id, insight, module, key, filter, date_from, date_to, payload, version, updated_at, deleted) FROM STDIN (FORMAT BINARY)"))
        {
            var from = new DateOnly(2026, 11, 1);
            var to = new DateOnly(2026, 11, 30);
            foreach (var row in rows)
            {
                await importer.StartRowAsync();
                await importer.WriteAsync(row.Id, NpgsqlDbType.Text);
                await importer.WriteAsync("CashFlowForecast", NpgsqlDbType.Text);
                await importer.WriteAsync("SIGAFIN", NpgsqlDbType.Text);
                await importer.WriteAsync(row.Id, NpgsqlDbType.Text);
                await importer.WriteAsync("E5_FILIAL = '01'", NpgsqlDbType.Text);
                await importer.WriteAsync(from, NpgsqlDbType.Date);
                await importer.WriteAsync(to, NpgsqlDbType.Date);
                await importer.WriteAsync(row.Payload, NpgsqlDbType.Jsonb);
                await importer.WriteAsync(1L, NpgsqlDbType.Bigint);
                await importer.WriteAsync(row.UpdatedAt, NpgsqlDbType.TimestampTz);
                await importer.WriteAsync(false, NpgsqlDbType.Boolean);
            }

            await importer.CompleteAsync();
        }

        await transaction.CommitAsync();
        return new Measure(rows.Count, 0, watch.Elapsed.TotalSeconds);
    }
}
