using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Insights.Database;
using Insights.FleetHealth;
using Insights.Ingestion;
using Insights.IntegrationTests.Infrastructure;
using Insights.IntegrationTests.Ingestion;
using Insights.SmartLink;
using Insights.Tenancy;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Insights.IntegrationTests.FleetHealthView;

/// <summary>
/// The fleet health view (<c>GET /api/v1/fleet/health</c>) reflects queue work after the nodes' flushes, orders and pages
/// tenants on each key, adds up what several nodes did, and reads no tenant schema.
/// </summary>
public sealed class FleetHealthTests : OwnDatabaseTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly ScriptedSource source = new();
    private readonly List<InsightsFactory> hosts = [];

    public override async Task DisposeAsync()
    {
        foreach (var host in hosts)
        {
            await host.DisposeAsync();
        }

        await base.DisposeAsync();
    }

    /// <summary>A node on the test's own database, flushing often; nothing reconciles or ingests on a timer meanwhile.</summary>
    private InsightsFactory Node()
    {
        var settings = InsightsFactory.Settings(Authority, Database);
        settings["FleetHealth:FlushInterval"] = "00:00:00.100";
        settings["FleetHealth:ReconcileInterval"] = "1.00:00:00";
        settings["Ingestion:Interval"] = "1.00:00:00";
        var host = new InsightsFactory(settings, services: s =>
        {
            s.RemoveAll<IInsightSource>();
            s.AddSingleton<IInsightSource>(source);
        });
        hosts.Add(host);
        return host;
    }

    private static async Task<string> TenantAsync(HttpClient admin, string prefix)
    {
        var id = InsightsFixture.NewTenantId(prefix);
        (await admin.PostAsJsonAsync("/api/v1/tenants", new { id, name = id })).EnsureSuccessStatusCode();
        return id;
    }

    private static async Task EnqueueAsync(InsightsFactory host, string tenantId, int count)
    {
        var services = host.Services;
        var tenant = (await services.GetRequiredService<TenantDirectory>().FindAsync(tenantId, CancellationToken.None))!;
        var messages = Enumerable.Range(0, count)
            .Select(i => OutgoingMessage.Create("InsightModel", MessagePriority.Normal, JsonSerializer.Serialize(new { text = $"m{i}" })))
            .ToList();
        await services.GetRequiredService<QueueWriter>().EnqueueAsync(services.GetRequiredService<TenantDatabases>(), tenant, messages, CancellationToken.None);
    }

    private static async Task<List<(string Receipt, Guid Id)>> ReceiveAsync(HttpClient client, int max)
    {
        var response = await client.PostAsJsonAsync("/api/v1/smartlink/receive", new { max, visibilityTimeoutSeconds = 300 });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return [.. body.GetProperty("messages").EnumerateArray()
            .Select(m => (m.GetProperty("receipt").GetString()!, m.GetProperty("message").GetProperty("id").GetGuid()))];
    }

    private static async Task<JsonElement> PageAsync(HttpClient admin, string query)
    {
        var response = await admin.GetAsync(new Uri("/api/v1/fleet/health" + query, UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>The tenant ids of every page of <paramref name="query"/>, each page after the cursor of the one before.</summary>
    private static async Task<List<string>> WalkAsync(HttpClient admin, string query)
    {
        var walked = new List<string>();
        string? cursor = null;
        do
        {
            var page = await PageAsync(admin, query + (cursor is null ? "" : "&cursor=" + cursor));
            walked.AddRange(page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("tenantId").GetString()!));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);

        return walked;
    }

    /// <summary>The tenant's item, once <paramref name="expected"/> holds of it (polling, with a deadline).</summary>
    private static async Task<JsonElement> EventuallyAsync(HttpClient admin, string tenantId, Func<JsonElement, bool> expected)
    {
        var deadline = DateTime.UtcNow + Patience;
        JsonElement? last = null;
        while (DateTime.UtcNow < deadline)
        {
            var page = await PageAsync(admin, "?limit=500");
            last = page.GetProperty("items").EnumerateArray().FirstOrDefault(i => i.GetProperty("tenantId").GetString() == tenantId);
            if (last is { ValueKind: JsonValueKind.Object } item && expected(item))
            {
                return item;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"The fleet health of {tenantId} never showed the expected state; last: {last}");
        return default;
    }

    private static long Count(JsonElement item, string name) => item.GetProperty(name).GetInt64();

    [Fact]
    public async Task The_view_shows_enqueues_receives_acks_dead_letters_and_processing_failures_after_a_flush()
    {
        var host = Node();
        using var admin = host.ClientWithToken(Authority.AdminToken());
        var tenantId = await TenantAsync(admin, "health");
        using var client = host.ClientWithToken(Authority.TenantToken(tenantId));

        var fresh = await EventuallyAsync(admin, tenantId, _ => true);
        Assert.Equal(0, Count(fresh, "ready"));
        Assert.Equal(JsonValueKind.Null, fresh.GetProperty("oldestVisibleAgeSeconds").ValueKind);
        Assert.Equal(JsonValueKind.Null, fresh.GetProperty("lastReceiveAt").ValueKind);

        await EnqueueAsync(host, tenantId, 4);
        var waiting = await EventuallyAsync(admin, tenantId, i => Count(i, "ready") == 4);
        Assert.Equal(JsonValueKind.Number, waiting.GetProperty("oldestVisibleAgeSeconds").ValueKind);

        // A full batch of 3 (one left), one acked, one dead-lettered, one left leased; Protheus reports one failure.
        var leased = await ReceiveAsync(client, 3);
        Assert.Equal(3, leased.Count);
        (await client.PostAsJsonAsync("/api/v1/smartlink/ack", new { receipts = new[] { leased[0].Receipt } })).EnsureSuccessStatusCode();
        (await client.PostAsJsonAsync("/api/v1/smartlink/nack", new { receipt = leased[1].Receipt, reason = "bad model" })).EnsureSuccessStatusCode();
        var report = await client.PostAsJsonAsync(
            "/api/v1/smartlink/messages",
            new { type = "InsightProcessingStatus", data = new { messageId = leased[0].Id, status = "failed", detail = "I21 rejected it" } });
        Assert.Equal(HttpStatusCode.Accepted, report.StatusCode);

        var worked = await EventuallyAsync(
            admin, tenantId, i => Count(i, "ready") == 1 && Count(i, "leased") == 1 && Count(i, "dead") == 1 && Count(i, "processingFailures") == 1);
        Assert.Equal(JsonValueKind.String, worked.GetProperty("lastReceiveAt").ValueKind);
        Assert.Equal(JsonValueKind.String, worked.GetProperty("lastAckAt").ValueKind);
        Assert.Equal(JsonValueKind.Number, worked.GetProperty("oldestVisibleAgeSeconds").ValueKind);

        // The client takes the last one: nothing visible is left.
        Assert.Single(await ReceiveAsync(client, 3));
        var drained = await EventuallyAsync(admin, tenantId, i => Count(i, "ready") == 0 && Count(i, "leased") == 2);
        Assert.Equal(JsonValueKind.Null, drained.GetProperty("oldestVisibleAgeSeconds").ValueKind);
    }

    [Fact]
    public async Task Tenants_are_ordered_worst_first_on_each_key_and_pages_walk_them_once()
    {
        var host = Node();
        using var admin = host.ClientWithToken(Authority.AdminToken());
        var stopped = await TenantAsync(admin, "stopped");
        var failing = await TenantAsync(admin, "failing");
        var quiet = await TenantAsync(admin, "quiet");
        using var failingClient = host.ClientWithToken(Authority.TenantToken(failing));
        using var quietClient = host.ClientWithToken(Authority.TenantToken(quiet));

        // "stopped": messages nobody receives. "failing": receives, and dead-letters two. "quiet": receives an empty queue.
        await EnqueueAsync(host, stopped, 2);
        await EnqueueAsync(host, failing, 2);
        foreach (var (receipt, _) in await ReceiveAsync(failingClient, 10))
        {
            (await failingClient.PostAsJsonAsync("/api/v1/smartlink/nack", new { receipt, reason = "bad" })).EnsureSuccessStatusCode();
        }

        Assert.Empty(await ReceiveAsync(quietClient, 10));
        await EventuallyAsync(admin, failing, i => Count(i, "dead") == 2);
        await EventuallyAsync(admin, stopped, i => Count(i, "ready") == 2);
        await EventuallyAsync(admin, quiet, i => i.GetProperty("lastReceiveAt").ValueKind == JsonValueKind.String);

        async Task<List<string>> OrderAsync(string sort) =>
            [.. (await PageAsync(admin, $"?sort={sort}&limit=500")).GetProperty("items").EnumerateArray().Select(i => i.GetProperty("tenantId").GetString()!)];

        Assert.Equal(stopped, (await OrderAsync("oldestVisibleAge"))[0]);
        Assert.Equal(failing, (await OrderAsync("dead"))[0]);
        // Never received comes first, then the oldest receive.
        Assert.Equal(stopped, (await OrderAsync("lastReceiveAt"))[0]);
        Assert.Equal(3, (await OrderAsync("ingestionLag")).Count);
        Assert.Equal(3, (await OrderAsync("processingFailures")).Count);

        // Pages of one item walk the same order, each tenant once.
        foreach (var sort in new[] { "oldestVisibleAge", "lastReceiveAt", "dead", "processingFailures", "ingestionLag" })
        {
            Assert.Equal(await OrderAsync(sort), await WalkAsync(admin, $"?sort={sort}&limit=1"));
        }
    }

    [Fact]
    public async Task The_ingestion_lag_order_merges_riders_of_the_sweep_with_tenants_read_by_their_own_runs()
    {
        var host = Node();
        using var admin = host.ClientWithToken(Authority.AdminToken());
        var ids = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            ids.Add(await TenantAsync(admin, "lag"));
        }

        foreach (var id in ids)
        {
            await FirstIngestionAsync(admin, id);
        }

        // The sweep the node queued at its start has finished; the test then sets the sweeps' history itself.
        var deadline = DateTime.UtcNow + Patience;
        while (!(await admin.GetFromJsonAsync<JsonElement>("/api/v1/ingestion-sweeps")).GetProperty("items").EnumerateArray()
            .Any(r => r.GetProperty("status").GetString() is "succeeded" or "failed"))
        {
            Assert.True(DateTime.UtcNow < deadline, "The node's first sweep did not finish");
            await Task.Delay(50);
        }

        // Own reads (hours ago; null: never read, created 10 h ago) and riding; the last sweep read the fleet 2 h ago.
        var states = new (double? ReadHoursAgo, bool Riding)[] { (3, false), (5, true), (1, true), (4, true), (null, false), (0.5, false) };
        await using var dataSource = Database.CreateDataSource();
        for (var i = 0; i < ids.Count; i++)
        {
            await using var command = dataSource.CreateCommand(
                """
                UPDATE catalog.ingestion_cursors SET created_at = now() - interval '10 hours',
                    checked_at = now() - make_interval(secs => $2 * 3600), riding_since = CASE WHEN $3 THEN now() - interval '1 day' END
                WHERE tenant_id = $1
                """);
            command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = ids[i] });
            command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = (object?)states[i].ReadHoursAgo ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Double });
            command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = states[i].Riding });
            Assert.Equal(1, await command.ExecuteNonQueryAsync());
        }

        await using (var forget = dataSource.CreateCommand("DELETE FROM catalog.ingestion_sweeps"))
        {
            await forget.ExecuteNonQueryAsync();
        }

        // No sweep yet: riders too by their own reads.
        await AssertOrderAsync([ids[4], ids[1], ids[3], ids[0], ids[2], ids[5]]);

        await using (var sweep = dataSource.CreateCommand(
            "INSERT INTO catalog.ingestion_sweeps (id, status, started_at, finished_at) VALUES (gen_random_uuid(), 'succeeded', now() - interval '2 hours', now() - interval '2 hours')"))
        {
            await sweep.ExecuteNonQueryAsync();
        }

        // Riders read before the sweep share its time (by tenant id); one read since by its own run keeps that.
        var atSweep = new[] { ids[1], ids[3] }.Order(StringComparer.Ordinal).ToList();
        await AssertOrderAsync([ids[4], ids[0], .. atSweep, ids[2], ids[5]]);

        async Task AssertOrderAsync(List<string> expected)
        {
            var whole = (await PageAsync(admin, "?sort=ingestionLag&limit=500")).GetProperty("items").EnumerateArray().ToList();
            Assert.Equal(expected, whole.Select(i => i.GetProperty("tenantId").GetString()!).Where(ids.Contains));
            var lags = whole.Select(i => i.GetProperty("ingestionLagSeconds").GetDouble()).ToList();
            Assert.Equal(lags.OrderDescending(), lags);
            Assert.Equal(new[] { false, true, true, true, false, false }, ids.Select(id => whole.Single(i => i.GetProperty("tenantId").GetString() == id).GetProperty("ridingSweep").GetBoolean()));

            foreach (var size in new[] { 1, 2, 4 })
            {
                Assert.Equal(whole.Select(i => i.GetProperty("tenantId").GetString()!), await WalkAsync(admin, $"?sort=ingestionLag&limit={size}"));
            }
        }
    }

    /// <summary>Waits until the tenant's first ingestion (queued by its provisioning) has finished.</summary>
    internal static async Task FirstIngestionAsync(HttpClient admin, string tenantId)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var runs = (await admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{tenantId}/ingestions")).GetProperty("items").EnumerateArray().ToList();
            if (runs.Count > 0 && runs.All(r => r.GetProperty("status").GetString() is "succeeded" or "failed"))
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, "The tenant's first ingestion did not finish");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Two_nodes_flushes_add_up()
    {
        var first = Node();
        var second = Node();
        using var admin = first.ClientWithToken(Authority.AdminToken());
        var tenantId = await TenantAsync(admin, "nodes");
        using var onFirst = first.ClientWithToken(Authority.TenantToken(tenantId));
        using var onSecond = second.ClientWithToken(Authority.TenantToken(tenantId));

        await EnqueueAsync(first, tenantId, 2);
        await EnqueueAsync(second, tenantId, 3);
        await EventuallyAsync(admin, tenantId, i => Count(i, "ready") == 5);

        // Leased on one node, acked on the other.
        var leased = await ReceiveAsync(onSecond, 4);
        Assert.Equal(4, leased.Count);
        (await onFirst.PostAsJsonAsync("/api/v1/smartlink/ack", new { receipts = leased.Take(3).Select(l => l.Receipt).ToArray() })).EnsureSuccessStatusCode();
        var item = await EventuallyAsync(admin, tenantId, i => Count(i, "ready") == 1 && Count(i, "leased") == 1);
        Assert.Equal(JsonValueKind.String, item.GetProperty("lastAckAt").ValueKind);
        Assert.Equal(0, Count(item, "dead"));
    }

    [Fact]
    public async Task The_reconciliation_recounts_a_tenant_whose_counts_drifted_and_trims_failures_older_than_a_day()
    {
        var host = Node();
        using var admin = host.ClientWithToken(Authority.AdminToken());
        var tenantId = await TenantAsync(admin, "drift");
        await EnqueueAsync(host, tenantId, 2);
        await EventuallyAsync(admin, tenantId, i => Count(i, "ready") == 2);

        // Deltas lost with a node that crashed: counts off, and a failure bucket two days old.
        await using (var dataSource = Database.CreateDataSource())
        await using (var command = dataSource.CreateCommand(
            """
            WITH bucket AS (
                INSERT INTO catalog.tenant_processing_failures (tenant_id, hour, failures) VALUES ($1, date_trunc('hour', now() - interval '2 days'), 5)
            )
            UPDATE catalog.tenant_health SET ready = 7, dead = 3, failures_day = failures_day + 5, touched_at = now() - interval '1 hour',
                rebased_at = now() - interval '2 hours'
            WHERE tenant_id = $1
            """))
        {
            command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = tenantId });
            await command.ExecuteNonQueryAsync();
        }

        Assert.True(await host.Services.GetRequiredService<TenantHealthReconciler>().PassAsync(CancellationToken.None) >= 1);
        var item = await EventuallyAsync(admin, tenantId, _ => true);
        Assert.Equal(2, Count(item, "ready"));
        Assert.Equal(0, Count(item, "dead"));
        Assert.Equal(0, Count(item, "processingFailures"));
        Assert.Equal(JsonValueKind.Number, item.GetProperty("oldestVisibleAgeSeconds").ValueKind);

        // Counted: not visited again until its counts change.
        Assert.Equal(0, await host.Services.GetRequiredService<TenantHealthReconciler>().PassAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Bad_sort_limit_or_cursor_is_a_400_and_a_tenant_token_a_403()
    {
        var host = Node();
        using var admin = host.ClientWithToken(Authority.AdminToken());
        var tenantId = await TenantAsync(admin, "inputs");
        await TenantAsync(admin, "inputs");

        static string Encode(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var next = (await PageAsync(admin, "?sort=dead&limit=1")).GetProperty("nextCursor").GetString();
        Assert.NotNull(next);

        foreach (var (query, field) in new[]
        {
            ("?sort=oldest", "sort"),
            ("?limit=0", "limit"),
            ("?limit=501", "limit"),
            ("?cursor=%21%21", "cursor"),
            ("?sort=lastReceiveAt&cursor=" + next, "cursor"),
            ("?sort=oldestVisibleAge&cursor=" + Encode("oldestVisibleAge|not a time|" + tenantId), "cursor"),
            ("?sort=dead&cursor=" + Encode("dead|12|not a tenant!"), "cursor"),
            ("?sort=dead&cursor=" + Encode("dead|twelve|" + tenantId), "cursor"),
        })
        {
            var response = await admin.GetAsync(new Uri("/api/v1/fleet/health" + query, UriKind.Relative));
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{query} answered {(int)response.StatusCode}");
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"{query}: {problem}");
        }

        using var tenant = host.ClientWithToken(Authority.TenantToken(tenantId));
        Assert.Equal(HttpStatusCode.Forbidden, (await tenant.GetAsync(new Uri("/api/v1/fleet/health", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task The_view_reads_no_tenant_schema()
    {
        var host = Node();
        using var admin = host.ClientWithToken(Authority.AdminToken());
        var tenantId = await TenantAsync(admin, "schemas");
        await EnqueueAsync(host, tenantId, 1);
        await EventuallyAsync(admin, tenantId, i => Count(i, "ready") == 1);

        // The tenant's first ingestion (queued by its provisioning) has finished: nothing else of it runs now.
        await FirstIngestionAsync(admin, tenantId);

        using var log = new StatementLog();
        foreach (var sort in new[] { "oldestVisibleAge", "lastReceiveAt", "dead", "processingFailures", "ingestionLag" })
        {
            await PageAsync(admin, $"?sort={sort}");
        }

        Assert.Empty(log.Naming(SchemaName.ForTenant(tenantId)));

        // The log does see a request that reads the schema.
        (await admin.GetAsync(new Uri($"/api/v1/tenants/{tenantId}/usage", UriKind.Relative))).EnsureSuccessStatusCode();
        Assert.NotEmpty(log.Naming(SchemaName.ForTenant(tenantId)));
    }
}
