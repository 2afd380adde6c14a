using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Insights.Database;
using Insights.FleetHealth;
using Insights.IntegrationTests.Infrastructure;
using Insights.IntegrationTests.OnlineInsights;
using Insights.ServiceDefaults;
using Insights.SmartLink;
using Insights.Tenancy;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;

namespace Insights.IntegrationTests.Observability;

/// <summary>
/// One host with every role on RabbitMQ, recording traces into memory: <c>/metrics</c> on the service's port (admin
/// only), the service's own metrics, and traces that carry the tenant across the bus.
/// </summary>
[Collection(Name)]
public sealed partial class TelemetryTests : OwnDatabaseTests
{
    public const string Name = "telemetry";

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly List<Activity> spans = [];
    private TestVirtualHost virtualHost = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        virtualHost = await TestVirtualHost.CreateAsync();
    }

    public override async Task DisposeAsync()
    {
        await virtualHost.DisposeAsync();
        await base.DisposeAsync();
    }

    /// <summary>Every role on RabbitMQ, tracing into <see cref="spans"/>.</summary>
    private InsightsFactory Host()
    {
        var settings = InsightsFactory.Settings(Authority, Database, virtualHost);
        settings["Telemetry:Tracing"] = "true";
        settings["Telemetry:CatalogGaugesMaxAge"] = "00:00:01";
        settings["Ingestion:Interval"] = "1.00:00:00";
        return new InsightsFactory(settings, services: s => s.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(spans)));
    }

    private static async Task<string> TenantAsync(HttpClient admin)
    {
        var id = InsightsFixture.NewTenantId("otel");
        (await admin.PostAsJsonAsync("/api/v1/tenants", new { id, name = id })).EnsureSuccessStatusCode();
        return id;
    }

    [Fact]
    public async Task Metrics_refuse_tenant_tokens_and_callers_without_a_token()
    {
        await using var factory = Host();
        using var admin = factory.ClientWithToken(Authority.AdminToken());
        var tenantId = await TenantAsync(admin);
        using var tenant = factory.ClientWithToken(Authority.TenantToken(tenantId));
        using var anonymous = factory.ClientWithToken(null);

        using var asTenant = await tenant.GetAsync(new Uri(TelemetrySetup.MetricsPath, UriKind.Relative));
        Assert.Equal(HttpStatusCode.Forbidden, asTenant.StatusCode);
        Assert.DoesNotContain("insights_", await asTenant.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var withoutToken = await anonymous.GetAsync(new Uri(TelemetrySetup.MetricsPath, UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, withoutToken.StatusCode);

        using var asAdmin = await admin.GetAsync(new Uri(TelemetrySetup.MetricsPath, UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, asAdmin.StatusCode);
        Assert.StartsWith("text/plain", asAdmin.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_count_queue_work_and_fleet_gauges_without_any_tenant_label()
    {
        await using var factory = Host();
        using var admin = factory.ClientWithToken(Authority.AdminToken());
        var tenantId = await TenantAsync(admin);
        var services = factory.Services;
        var tenantInfo = (await services.GetRequiredService<TenantDirectory>().FindAsync(tenantId, CancellationToken.None))!;
        await services.GetRequiredService<QueueWriter>().EnqueueAsync(
            services.GetRequiredService<TenantDatabases>(), tenantInfo,
            [OutgoingMessage.Create("InsightModel", MessagePriority.Normal, "{}"), OutgoingMessage.Create("InsightModel", MessagePriority.Normal, "{}")],
            CancellationToken.None);
        using var client = factory.ClientWithToken(Authority.TenantToken(tenantId));
        var received = await client.PostAsJsonAsync("/api/v1/smartlink/receive", new { max = 2 });
        var body = await received.Content.ReadAsStringAsync();
        Assert.True(received.StatusCode == HttpStatusCode.OK, body);
        var receipts = JsonDocument.Parse(body).RootElement.GetProperty("messages").EnumerateArray()
            .Select(m => m.GetProperty("receipt").GetString()!).ToList();
        Assert.Equal(2, receipts.Count);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/v1/smartlink/ack", new { receipts = new[] { receipts[0] } })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/v1/smartlink/nack", new { receipt = receipts[1], reason = "cannot process" })).StatusCode);

        // Counters of every host in this process reach each host's exporter (meters are matched by name), so the figures
        // are at least this test's; the gauges come from a catalog reading started by the first collection.
        var text = await ScrapeUntilAsync(admin, t =>
            Value(t, "insights_queue_received_total") >= 2
            && Value(t, "insights_queue_acked_total") >= 1
            && Value(t, "insights_queue_dead_lettered_total", "reason=\"nack\"") >= 1
            && Value(t, "insights_queue_enqueued_total", "type=\"InsightModel\"") >= 2
            && Value(t, "insights_tenants", "status=\"active\"") >= 1
            && Value(t, "insights_store_tenants", "store=\"main\"") >= 1
            && Value(t, "insights_outbox_backlog") >= 0);

        Assert.Contains("insights_queue_long_polls", text, StringComparison.Ordinal);
        Assert.Contains("http_server_request_duration_seconds", text, StringComparison.Ordinal);
        Assert.Contains("db_client_", text, StringComparison.Ordinal);
        Assert.DoesNotContain(tenantId, text, StringComparison.Ordinal);
        Assert.DoesNotContain("tenant", LabelNames(text), StringComparer.Ordinal);
    }

    [Fact]
    public async Task Fleet_gauges_count_the_lagging_the_stale_and_the_silent_tenants()
    {
        await using var factory = Host();
        using var admin = factory.ClientWithToken(Authority.AdminToken());
        var (lagging, riding, fresh, stale) = (await TenantAsync(admin), await TenantAsync(admin), await TenantAsync(admin), await TenantAsync(admin));

        // The tenants' first runs (queued by their provisioning) have finished, and the node's first sweep has succeeded:
        // nothing rewrites their cursors below.
        foreach (var id in new[] { lagging, riding, fresh, stale })
        {
            await FleetHealthView.FleetHealthTests.FirstIngestionAsync(admin, id);
        }

        await Until(
            async () => (await admin.GetFromJsonAsync<JsonElement>("/api/v1/ingestion-sweeps")).GetProperty("items").EnumerateArray()
                .Any(r => r.GetProperty("status").GetString() == "succeeded"),
            () => "no sweep succeeded");

        // Ingestion: one tenant last read 3 days ago (over two 1-day intervals), one riding the sweep with an own read as
        // old, one read now. Delivery: one tenant with a message visible for 2 h, created 2 h ago, never received from.
        await using (var dataSource = Database.CreateDataSource())
        await using (var batch = dataSource.CreateBatch())
        {
            batch.BatchCommands.Add(new("UPDATE catalog.ingestion_cursors SET riding_since = NULL, checked_at = now() - interval '3 days' WHERE tenant_id = $1") { Parameters = { new() { Value = lagging } } });
            batch.BatchCommands.Add(new("UPDATE catalog.ingestion_cursors SET riding_since = now() - interval '4 days', checked_at = now() - interval '3 days' WHERE tenant_id = $1") { Parameters = { new() { Value = riding } } });
            batch.BatchCommands.Add(new("UPDATE catalog.ingestion_cursors SET riding_since = NULL, checked_at = now() WHERE tenant_id = ANY($1)") { Parameters = { new() { Value = new[] { fresh, stale } } } });
            batch.BatchCommands.Add(new("UPDATE catalog.tenant_health SET oldest_visible_at = now() - interval '2 hours', ready = 1 WHERE tenant_id = $1") { Parameters = { new() { Value = stale } } });
            batch.BatchCommands.Add(new("UPDATE catalog.tenants SET created_at = now() - interval '2 hours' WHERE id = $1") { Parameters = { new() { Value = stale } } });
            await batch.ExecuteNonQueryAsync();
        }

        var text = await ScrapeUntilAsync(admin, t =>
            Value(t, "insights_ingestion_tenants_lagging") == 1
            && Value(t, "insights_fleet_tenants_oldest_visible_over", "age=\"5m\"") == 1
            && Value(t, "insights_fleet_clients_not_receiving") == 1);
        Assert.Equal(1, Value(text, "insights_fleet_tenants_oldest_visible_over", "age=\"1h\""));
        Assert.Equal(0, Value(text, "insights_fleet_tenants_oldest_visible_over", "age=\"1d\""));
        Assert.InRange(Value(text, "insights_ingestion_max_lag_seconds"), 3 * 86_400 - 60, 3 * 86_400 + 3_600);
    }

    [Fact]
    public async Task An_online_request_is_one_trace_across_the_bus_with_the_tenant_on_the_api_and_worker_spans()
    {
        await using var factory = Host();
        using var admin = factory.ClientWithToken(Authority.AdminToken());
        await OnlineInsightsFixture.DefineAsync(admin);
        var tenantId = await TenantAsync(admin);
        await StoredModels.StoreAsync(Database.ConnectionString, tenantId, OnlineScenario.Models("m"));
        using var tenant = factory.ClientWithToken(Authority.TenantToken(tenantId));

        await OnlineScenario.OkAsync(tenant, new { insight = OnlineInsightsFixture.Stored, key = "k2" });

        // The worker's span ends before its reply reaches the api, whose span ends last: wait for the server span.
        Activity? server = null;
        await Until(() =>
        {
            server = Snapshot().FirstOrDefault(a => a.Kind == ActivityKind.Server && Tenant(a) == tenantId
                && a.DisplayName.Contains("online-insights", StringComparison.Ordinal));
            return server is not null;
        });

        var trace = Snapshot().Where(a => a.TraceId == server!.TraceId).ToList();
        var consumer = trace.FirstOrDefault(a => a.Kind == ActivityKind.Consumer && a.Source.Name == "MassTransit");
        Assert.True(consumer is not null, "No MassTransit consume span in the trace: " + string.Join(", ", trace.Select(a => $"{a.Source.Name}/{a.Kind}/{a.DisplayName}")));
        Assert.Equal(tenantId, Tenant(consumer));
        Assert.Contains(trace, a => a.Source.Name == "Npgsql" && a.ParentSpanId != default);
    }

    [Fact]
    public async Task Metrics_can_be_switched_off()
    {
        var settings = InsightsFactory.Settings(Authority, Database);
        settings["Telemetry:PrometheusEnabled"] = "false";
        await using var off = new InsightsFactory(settings);
        using var admin = off.ClientWithToken(Authority.AdminToken());
        using var response = await admin.GetAsync(new Uri(TelemetrySetup.MetricsPath, UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    private static string? Tenant(Activity activity) => activity.GetTagItem(TelemetrySetup.TenantAttribute) as string;

    private List<Activity> Snapshot()
    {
        lock (spans)
        {
            return [.. spans];
        }
    }

    private static async Task<string> ScrapeUntilAsync(HttpClient admin, Func<string, bool> condition)
    {
        var text = "";
        await Until(async () =>
        {
            text = await admin.GetStringAsync(new Uri(TelemetrySetup.MetricsPath, UriKind.Relative));
            return condition(text);
        }, () => text);
        return text;
    }

    /// <summary>The sum of the samples of <paramref name="name"/> whose labels contain <paramref name="label"/>; -1 when there are none.</summary>
    internal static double Value(string exposition, string name, string? label = null)
    {
        var found = false;
        var sum = 0d;
        foreach (Match m in Sample().Matches(exposition))
        {
            if (m.Groups["name"].Value == name && (label is null || m.Groups["labels"].Value.Contains(label, StringComparison.Ordinal)))
            {
                found = true;
                sum += double.Parse(m.Groups["value"].Value, System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return found ? sum : -1;
    }

    private static HashSet<string> LabelNames(string exposition)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match m in Sample().Matches(exposition))
        {
            foreach (Match label in LabelName().Matches(m.Groups["labels"].Value))
            {
                names.Add(label.Groups[1].Value);
            }
        }

        return names;
    }

    private static Task Until(Func<bool> condition) => Until(() => Task.FromResult(condition()), () => "");

    private static async Task Until(Func<Task<bool>> condition, Func<string> describe)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Not within {Patience.TotalSeconds} s. Last: {describe()}");
            await Task.Delay(100);
        }
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>[-+0-9.eE]+|NaN|\+Inf)", RegexOptions.Multiline)]
    private static partial Regex Sample();

    [GeneratedRegex("([a-zA-Z_][a-zA-Z0-9_]*)=\"")]
    private static partial Regex LabelName();
}

/// <summary>
/// The telemetry tests run alone, after the others: OpenTelemetry's instrumentation of ASP.NET Core is shared by every
/// host of a process, and hosts that other tests start and stop meanwhile made a request's span or metrics go missing.
/// </summary>
[CollectionDefinition(TelemetryTests.Name, DisableParallelization = true)]
public sealed class TelemetryAlone;
