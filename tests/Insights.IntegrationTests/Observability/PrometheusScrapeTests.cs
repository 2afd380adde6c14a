using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Insights.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Insights.IntegrationTests.Observability;

/// <summary>
/// A real Prometheus (Debian's, started here with a configuration of its own) scrapes a node that serves
/// <c>/metrics</c> on a management port of its own, as the Kubernetes manifests run it; the test drives traffic and asks
/// Prometheus' HTTP API for the service's series.
/// </summary>
public sealed class PrometheusScrapeTests(ITestOutputHelper output) : OwnDatabaseTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Prometheus_scrapes_the_service_metrics_from_the_management_port_only()
    {
        var binary = TestServices.Prometheus();
        var folder = Directory.CreateTempSubdirectory("insights-prometheus-");
        try
        {
            var tenantId = InsightsFixture.NewTenantId("prom");
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "models.ndjson"), Models(tenantId, 3));
            var metricsPort = HostProcess.FreePort();
            using var host = await HostProcess.StartAsync("prom-host", new Dictionary<string, string>
            {
                ["ConnectionStrings__Insights"] = Database.ConnectionString,
                ["Authentication__Authority"] = Authority.Issuer,
                ["Authentication__RequireHttpsMetadata"] = "false",
                ["Bus__Transport"] = "InMemory",
                ["Ingestion__Source"] = "Local",
                ["Ingestion__Local__Folder"] = folder.FullName,
                ["Ingestion__Interval"] = "1.00:00:00",
                ["Telemetry__PrometheusPort"] = metricsPort.ToString(CultureInfo.InvariantCulture),
                ["Telemetry__CatalogGaugesMaxAge"] = "00:00:01",
                ["Logging__LogLevel__Microsoft.AspNetCore.Hosting.Diagnostics"] = "Warning",
            }, output, extraPorts: [metricsPort]);

            // The service's port does not serve /metrics to anyone, a tenant or an admin; the management port does, without a token.
            using var admin = host.Client(Authority.AdminToken());
            (await admin.PutAsJsonAsync("/api/v1/insight-definitions/CashFlowForecast", new { module = "SIGAFIN", priority = "high" })).EnsureSuccessStatusCode();
            (await admin.PostAsJsonAsync("/api/v1/tenants", new { id = tenantId, name = tenantId })).EnsureSuccessStatusCode();
            using var tenant = host.Client(Authority.TenantToken(tenantId));
            Assert.Equal(HttpStatusCode.NotFound, (await tenant.GetAsync(new Uri("/metrics", UriKind.Relative))).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync(new Uri("/metrics", UriKind.Relative))).StatusCode);
            using var management = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{metricsPort}"), Timeout = TimeSpan.FromSeconds(30) };
            Assert.Equal(HttpStatusCode.OK, (await management.GetAsync(new Uri("/metrics", UriKind.Relative))).StatusCode);

            using var prometheus = await PrometheusServer.StartAsync(binary, folder.FullName, $"127.0.0.1:{metricsPort}", output);

            // Traffic: the first ingestion enqueued the tenant's models; its client receives and acks them.
            var acked = 0;
            await Until(async () =>
            {
                var response = await tenant.PostAsJsonAsync("/api/v1/smartlink/receive", new { max = 10, waitSeconds = 1 });
                var receipts = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("messages").EnumerateArray()
                    .Select(m => m.GetProperty("receipt").GetString()).ToArray();
                if (receipts.Length > 0)
                {
                    var ack = await tenant.PostAsJsonAsync("/api/v1/smartlink/ack", new { receipts });
                    acked += (await ack.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("acked").GetInt32();
                }

                return acked == 3;
            }, () => $"{acked} of 3 messages acked");

            // What Prometheus stored, through its HTTP API: the node is up, and the service's meters are in.
            await prometheus.UntilAsync("up{job=\"insights\"}", v => v == 1);
            await prometheus.UntilAsync("sum(insights_queue_acked_total)", v => v >= 3);
            await prometheus.UntilAsync("sum(insights_queue_enqueued_total{type=\"InsightModel\"})", v => v >= 3);
            await prometheus.UntilAsync("sum(insights_ingestion_rows_read_total)", v => v >= 3);
            await prometheus.UntilAsync("insights_tenants{status=\"active\"}", v => v == 1);
            await prometheus.UntilAsync("insights_dependency_up{dependency=\"postgresql\"}", v => v == 1);
            await prometheus.UntilAsync("insights_outbox_backlog", v => v >= 0);
            await prometheus.UntilAsync("count(insights_queue_long_polls)", v => v >= 1);
            await prometheus.UntilAsync("sum(http_server_request_duration_seconds_count)", v => v > 0);

            // No series of the service's meter is labelled with the tenant.
            Assert.Equal(0, await prometheus.QueryAsync($"count({{__name__=~\"insights_.+\", tenant_id=\"{tenantId}\"}}) or vector(0)"));
            var series = await prometheus.SeriesAsync("{__name__=~\"insights_.+\"}");
            Assert.DoesNotContain(series, s => s.Contains(tenantId, StringComparison.Ordinal));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static string Models(string tenantId, int count) =>
        string.Join('\n', Enumerable.Range(1, count).Select(i => JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["tenant_id"] = tenantId,
            ["id"] = $"{tenantId}-{i}",
            ["insight"] = "CashFlowForecast",
            ["module"] = "SIGAFIN",
            ["key"] = i.ToString(CultureInfo.InvariantCulture),
            ["filter"] = null,
            ["date_from"] = "2026-11-01",
            ["date_to"] = "2026-11-30",
            ["payload"] = new { i },
            ["version"] = 1,
            ["updated_at"] = "2026-11-23T10:00:00Z",
            ["deleted"] = false,
        }))) + "\n";

    private static async Task Until(Func<Task<bool>> condition, Func<string> describe)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Not within {Patience.TotalSeconds} s: {describe()}");
            await Task.Delay(100);
        }
    }

    /// <summary>A Prometheus server of the test's own: its configuration, data folder and port.</summary>
    private sealed class PrometheusServer : IDisposable
    {
        private readonly Process process;
        private readonly HttpClient api;
        private readonly List<string> lines = [];

        private PrometheusServer(Process process, HttpClient api)
        {
            this.process = process;
            this.api = api;
        }

        public static async Task<PrometheusServer> StartAsync(string binary, string folder, string target, ITestOutputHelper output)
        {
            // Scraped and evaluated every second, so the test waits for the service, not for the schedule.
            var config = Path.Combine(folder, "prometheus.yml");
            await File.WriteAllTextAsync(config,
                $"""
                global:
                  scrape_interval: 1s
                  scrape_timeout: 1s
                  evaluation_interval: 1s
                scrape_configs:
                  - job_name: insights
                    static_configs:
                      - targets: ["{target}"]
                """);
            var port = HostProcess.FreePort();
            var start = new ProcessStartInfo(binary)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = folder,
            };
            foreach (var argument in new[]
            {
                "--config.file=" + config, "--storage.tsdb.path=" + Path.Combine(folder, "data"), $"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            })
            {
                start.ArgumentList.Add(argument);
            }

            var process = Process.Start(start) ?? throw new InvalidOperationException("Prometheus did not start.");
            var server = new PrometheusServer(process, new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) });
            process.OutputDataReceived += (_, e) => server.Keep(e.Data, output);
            process.ErrorDataReceived += (_, e) => server.Keep(e.Data, output);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            try
            {
                await Until(async () =>
                {
                    Assert.False(process.HasExited, "Prometheus exited: " + server.Output());
                    try
                    {
                        return (await server.api.GetAsync(new Uri("/-/ready", UriKind.Relative))).IsSuccessStatusCode;
                    }
                    catch (HttpRequestException)
                    {
                        return false;
                    }
                }, () => "Prometheus was not ready: " + server.Output());
                return server;
            }
            catch
            {
                server.Dispose();
                throw;
            }
        }

        /// <summary>Waits until the instant query <paramref name="promql"/> has a value that satisfies <paramref name="condition"/>.</summary>
        public async Task UntilAsync(string promql, Func<double, bool> condition)
        {
            double? last = null;
            await Until(async () => (last = await QueryAsync(promql)) is { } v && condition(v), () => $"{promql} = {last?.ToString(CultureInfo.InvariantCulture) ?? "no value"}");
        }

        /// <summary>The first value of an instant query; null when it has none.</summary>
        public async Task<double?> QueryAsync(string promql)
        {
            var body = await api.GetFromJsonAsync<JsonElement>(new Uri("/api/v1/query?query=" + Uri.EscapeDataString(promql), UriKind.Relative));
            Assert.Equal("success", body.GetProperty("status").GetString());
            var result = body.GetProperty("data").GetProperty("result");
            return result.GetArrayLength() == 0
                ? null
                : double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
        }

        /// <summary>Every series matching <paramref name="selector"/>, as its label set in JSON.</summary>
        public async Task<List<string>> SeriesAsync(string selector)
        {
            var body = await api.GetFromJsonAsync<JsonElement>(new Uri("/api/v1/series?match[]=" + Uri.EscapeDataString(selector), UriKind.Relative));
            return body.GetProperty("data").EnumerateArray().Select(s => s.GetRawText()).ToList();
        }

        private void Keep(string? line, ITestOutputHelper output)
        {
            if (line is null)
            {
                return;
            }

            lock (lines)
            {
                lines.Add(line);
            }

            try
            {
                output.WriteLine("prometheus| " + line);
            }
            catch (InvalidOperationException)
            {
                // The test has ended.
            }
        }

        private string Output()
        {
            lock (lines)
            {
                return string.Join(Environment.NewLine, lines.TakeLast(30));
            }
        }

        public void Dispose()
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(TimeSpan.FromSeconds(30));
            }

            process.Dispose();
            api.Dispose();
        }
    }
}
