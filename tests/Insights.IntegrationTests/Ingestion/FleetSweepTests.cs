using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Insights.Database;
using Insights.Ingestion;
using Insights.IntegrationTests.Infrastructure;
using Insights.IntegrationTests.SmartLink;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;

namespace Insights.IntegrationTests.Ingestion;

/// <summary>
/// Scheduled ingestion is one read of the source per interval for the whole fleet: each tenant riding the sweep gets
/// its rows applied with a run's guarantees; the others' rows wait for the tenant's own run.
/// </summary>
public sealed class FleetSweepTests : OwnDatabaseTests
{
    private readonly ScriptedSource source = new();
    private readonly Lazy<(InsightsFactory Host, HttpClient Admin)> node;

    public FleetSweepTests() => node = new(() =>
    {
        var settings = InsightsFactory.Settings(Authority, Database);
        settings["Ingestion:PageSize"] = "4";
        settings["Ingestion:Interval"] = "1.00:00:00";
        var factory = new InsightsFactory(settings, services: s =>
        {
            s.RemoveAll<IInsightSource>();
            s.AddSingleton<IInsightSource>(source);
        });
        return (factory, factory.ClientWithToken(Authority.AdminToken()));
    });

    private InsightsFactory host => node.Value.Host;

    private HttpClient admin => node.Value.Admin;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        (await admin.PutAsJsonAsync("/api/v1/insight-definitions/CashFlowForecast", new { module = "SIGAFIN", priority = "normal" })).EnsureSuccessStatusCode();
    }

    public override async Task DisposeAsync()
    {
        if (node.IsValueCreated)
        {
            node.Value.Admin.Dispose();
            await node.Value.Host.DisposeAsync();
        }

        await base.DisposeAsync();
    }

    /// <summary>A model updated <paramref name="minutesAgo"/> before now, within the sweep's look-back.</summary>
    private static SourceModel Recent(string id, double minutesAgo, string payload = """{"value":1}""") =>
        new(id, "CashFlowForecast", "SIGAFIN", "key-" + id, null, null, null, payload, 1,
            SourceTime.Truncate(DateTimeOffset.UtcNow.AddMinutes(-minutesAgo)), false);

    private async Task<string> TenantAsync(string prefix = "sw")
    {
        var id = InsightsFixture.NewTenantId(prefix);
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/tenants", new { id, name = id })).StatusCode);
        await WaitRunsIdleAsync(id, runs: 1);
        return id;
    }

    private async Task<List<JsonElement>> WaitRunsIdleAsync(string tenantId, int runs)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var page = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{tenantId}/ingestions");
            var items = page.GetProperty("items").EnumerateArray().Select(r => r.Clone()).ToList();
            if (items.Count >= runs && items.All(r => r.GetProperty("status").GetString() is not ("queued" or "running")))
            {
                return items;
            }

            Assert.True(DateTime.UtcNow < deadline, "The tenant's ingestion run did not finish.");
            await Task.Delay(50);
        }
    }

    private sealed record Sweep(
        Guid Id, string Status, long RowsRead, long RowsRouted, long RowsChanged, long RowsDeferred, long RowsUnknown, int Tenants, string? Error, bool Audit, long RowsLate);

    /// <summary>Queues a sweep once none is active (the one the scheduler starts with), and waits for its end.</summary>
    private async Task<Sweep> SweepAsync(bool? audit = null)
    {
        var trigger = host.Services.GetRequiredService<FleetSweepTrigger>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        Guid id;
        while (true)
        {
            var (requested, created) = await trigger.RequestAsync(CancellationToken.None, audit);
            if (created)
            {
                id = requested;
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "An earlier sweep did not end.");
            await Task.Delay(50);
        }

        await using var dataSource = Database.CreateDataSource();
        while (true)
        {
            await using var command = dataSource.CreateCommand(
                """
                SELECT status, rows_read, rows_routed, rows_changed, rows_deferred, rows_unknown, tenants_touched, error, audit, rows_late
                FROM catalog.ingestion_sweeps WHERE id = $1
                """);
            command.Parameters.Add(new NpgsqlParameter { Value = id });
            await using var reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            var status = reader.GetString(0);
            if (status is not ("queued" or "running"))
            {
                return new Sweep(id, status, reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5),
                    reader.GetInt32(6), reader.IsDBNull(7) ? null : reader.GetString(7), reader.GetBoolean(8), reader.GetInt64(9));
            }

            Assert.True(DateTime.UtcNow < deadline, "The sweep did not end.");
            await Task.Delay(50);
        }
    }

    /// <summary>Waits until no sweep is queued or running (the scheduler queues one as the host starts).</summary>
    private async Task SweepUntilIdleAsync()
    {
        await using var dataSource = Database.CreateDataSource();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            await using var command = dataSource.CreateCommand("SELECT count(*) FROM catalog.ingestion_sweeps WHERE status IN ('queued', 'running')");
            if ((long)(await command.ExecuteScalarAsync())! == 0)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, "The sweep did not end.");
            await Task.Delay(50);
        }
    }

    private async Task<List<string>> DrainAsync(string tenantId)
    {
        using var client = new QueueClient(null!, tenantId, host.ClientWithToken(Authority.TenantToken(tenantId)));
        var ids = new List<string>();
        while (true)
        {
            var batch = await client.ReceiveAsync(max: 100);
            if (batch.Count == 0)
            {
                return ids;
            }

            ids.AddRange(batch.Select(d => d.Message.GetProperty("data").GetProperty("uuid").GetString()!));
            await client.AckAsync(batch.Select(d => d.Receipt).ToArray());
        }
    }

    private async Task<long> QueuedAsync(string tenantId)
    {
        await using var dataSource = Database.CreateDataSource();
        await using var command = dataSource.CreateCommand($"SELECT count(*) FROM {SchemaName.ForTenant(tenantId).Quoted}.queue_messages");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task One_read_of_the_source_serves_every_tenant_and_reading_again_changes_nothing()
    {
        var tenants = new[] { await TenantAsync(), await TenantAsync(), await TenantAsync() };
        foreach (var (tenant, index) in tenants.Select((t, i) => (t, i)))
        {
            source.Set(tenant, Enumerable.Range(1, 3 + index).Select(i => Recent($"{tenant}-m{i}", 10 - i)));
        }

        source.Set("nobody-knows-this-tenant", [Recent("stray", 5)]);
        await SweepUntilIdleAsync();
        var reads = source.FleetReads;

        var sweep = await SweepAsync();

        Assert.True(sweep.Status == "succeeded", sweep.Error);
        Assert.Equal(reads + 1, source.FleetReads);
        Assert.Equal(3 + 4 + 5 + 1, sweep.RowsRead);
        Assert.Equal(3 + 4 + 5, sweep.RowsRouted);
        Assert.Equal(3 + 4 + 5, sweep.RowsChanged);
        Assert.Equal(1, sweep.RowsUnknown);
        Assert.Equal(0, sweep.RowsDeferred);
        Assert.Equal(3, sweep.Tenants);
        foreach (var (tenant, index) in tenants.Select((t, i) => (t, i)))
        {
            Assert.Equal(Enumerable.Range(1, 3 + index).Select(i => $"{tenant}-m{i}"), await DrainAsync(tenant));
        }

        // The next sweep reads the same rows again (the look-back): nothing changed, nothing is enqueued.
        var again = await SweepAsync();
        Assert.True(again.Status == "succeeded", again.Error);
        Assert.Equal(3 + 4 + 5, again.RowsRouted);
        Assert.Equal(0, again.RowsChanged);
        foreach (var tenant in tenants)
        {
            Assert.Empty(await DrainAsync(tenant));
        }

        // A changed model is applied once; a late row inside the look-back (older than the watermark) too.
        source.Upsert(tenants[0], Recent($"{tenants[0]}-m1", 1, """{"value":2}"""));
        source.Upsert(tenants[1], Recent($"{tenants[1]}-late", 9.5));
        var changes = await SweepAsync();
        Assert.Equal(2, changes.RowsChanged);
        Assert.Equal([$"{tenants[0]}-m1"], await DrainAsync(tenants[0]));
        Assert.Equal([$"{tenants[1]}-late"], await DrainAsync(tenants[1]));

        // The admins read the sweeps; the tenant's usage shows it rides them and how far its models are applied.
        var listed = await admin.GetFromJsonAsync<JsonElement>("/api/v1/ingestion-sweeps?limit=1");
        var newest = Assert.Single(listed.GetProperty("items").EnumerateArray());
        Assert.Equal(changes.Id, newest.GetProperty("id").GetGuid());
        Assert.Equal(2, newest.GetProperty("rowsChanged").GetInt64());
        Assert.True(newest.GetProperty("watermarkAfter").GetDateTimeOffset() >= newest.GetProperty("watermarkBefore").GetDateTimeOffset());
        using (var tenantClient = host.ClientWithToken(Authority.TenantToken(tenants[0])))
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await tenantClient.GetAsync("/api/v1/ingestion-sweeps")).StatusCode);
        }

        foreach (var (query, field) in new[] { ("limit=0", "limit"), ("limit=abc", "limit"), ("cursor=not-a-cursor", "cursor"), ("cursor=%00", "cursor") })
        {
            var bad = await admin.GetAsync("/api/v1/ingestion-sweeps?" + query);
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Equal("application/problem+json", bad.Content.Headers.ContentType?.MediaType);
            var problem = await bad.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(400, problem.GetProperty("status").GetInt32());
            Assert.True(problem.TryGetProperty("errors", out var errors) && errors.TryGetProperty(field, out _), problem.ToString());
        }

        var paged = await admin.GetFromJsonAsync<JsonElement>("/api/v1/ingestion-sweeps?limit=1&cursor=" + Uri.EscapeDataString(listed.GetProperty("nextCursor").GetString()!));
        Assert.NotEqual(changes.Id, Assert.Single(paged.GetProperty("items").EnumerateArray()).GetProperty("id").GetGuid());

        var usage = (await admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{tenants[0]}/usage")).GetProperty("ingestion");
        Assert.NotEqual(JsonValueKind.Null, usage.GetProperty("ridingSweepSince").ValueKind);
        Assert.Equal(3 * 3, usage.GetProperty("sweptRows").GetInt64());
        Assert.InRange(usage.GetProperty("lagSeconds").GetDouble(), 0, 600);
    }

    [Fact]
    public async Task A_suspended_tenants_rows_wait_and_arrive_once_after_it_resumes()
    {
        var tenant = await TenantAsync();
        Assert.Equal(HttpStatusCode.OK, (await admin.PatchAsJsonAsync($"/api/v1/tenants/{tenant}", new { status = "suspended" })).StatusCode);
        source.Set(tenant, Enumerable.Range(1, 5).Select(i => Recent("s" + i, 10 - i)));

        var sweep = await SweepAsync();

        Assert.Equal(5, sweep.RowsDeferred);
        Assert.Equal(0, sweep.RowsRouted);
        Assert.Equal(0, await QueuedAsync(tenant));

        Assert.Equal(HttpStatusCode.OK, (await admin.PatchAsJsonAsync($"/api/v1/tenants/{tenant}", new { status = "active" })).StatusCode);
        var runs = await WaitRunsIdleAsync(tenant, runs: 2);
        var resumed = Assert.Single(runs, r => r.GetProperty("trigger").GetString() == Insights.Ingestion.IngestionTenantLifecycle.ResumedTrigger);
        Assert.Equal(5, resumed.GetProperty("messagesEnqueued").GetInt64());

        // Riding again: the next sweep reads the rows again and changes nothing.
        var after = await SweepAsync();
        Assert.Equal(5, after.RowsRouted);
        Assert.Equal(0, after.RowsChanged);
        Assert.Equal(Enumerable.Range(1, 5).Select(i => "s" + i), await DrainAsync(tenant));
    }

    [Fact]
    public async Task A_tenant_provisioned_while_its_rows_exist_is_backfilled_then_rides_the_sweep_without_gap_or_duplicate()
    {
        var tenant = InsightsFixture.NewTenantId("sw");
        source.Set(tenant, Enumerable.Range(1, 3).Select(i => Recent("p" + i, 20 - i)));

        var before = await SweepAsync();
        Assert.Equal(3, before.RowsUnknown);

        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/tenants", new { id = tenant, name = tenant })).StatusCode);
        await WaitRunsIdleAsync(tenant, runs: 1);
        source.Upsert(tenant, Recent("p4", 2));
        source.Upsert(tenant, Recent("p5", 1));

        var sweep = await SweepAsync();

        Assert.Equal(5, sweep.RowsRouted);
        Assert.Equal(2, sweep.RowsChanged);
        Assert.Equal(Enumerable.Range(1, 5).Select(i => "p" + i), await DrainAsync(tenant));
    }

    [Fact]
    public async Task A_row_that_lands_later_than_the_look_back_is_applied_by_the_next_audit_which_reports_it()
    {
        var tenant = await TenantAsync();
        await SweepUntilIdleAsync();
        source.Set(tenant, [Recent("on-time", 1)]);
        Assert.Equal(1, (await SweepAsync(audit: false)).RowsChanged);

        // Updated two hours before the watermark, and only now in the source: beyond the look-back of 30 minutes.
        source.Upsert(tenant, Recent("very-late", 120));
        var regular = await SweepAsync(audit: false);
        Assert.Equal(0, regular.RowsChanged);
        Assert.Equal(["on-time"], await DrainAsync(tenant));

        var audit = await SweepAsync(audit: true);
        Assert.True(audit.Audit);
        Assert.Equal(1, audit.RowsChanged);
        Assert.Equal(1, audit.RowsLate);
        Assert.Equal(["very-late"], await DrainAsync(tenant));
        var listed = await admin.GetFromJsonAsync<JsonElement>("/api/v1/ingestion-sweeps?limit=1");
        Assert.Equal(1, listed.GetProperty("items")[0].GetProperty("rowsLateBeyondLookBack").GetInt64());
    }

    [Fact]
    public void Bytes_billed_are_shared_by_rows_and_add_up_to_the_sweeps_total()
    {
        var rows = new Dictionary<string, long> { ["a"] = 1, ["b"] = 2, ["c"] = 4, ["none"] = 0 };

        var (tenants, shares) = FleetSweepRunner.Apportion(10_485_761, rows);

        Assert.Equal(["c", "b", "a"], tenants);
        Assert.Equal(10_485_761, shares.Sum());
        Assert.InRange(shares[0], 5_991_862, 5_991_864);
        Assert.InRange(shares[2], 1_497_965, 1_497_966);
    }
}
