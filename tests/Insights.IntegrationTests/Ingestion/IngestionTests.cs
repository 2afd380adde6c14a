using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Insights.Database;
using Insights.Ingestion;
using Insights.IntegrationTests.Infrastructure;
using Insights.IntegrationTests.SmartLink;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Insights.IntegrationTests.Ingestion;

/// <summary>A host of its own whose source is scripted by the tests; pages of 3 models so runs span several pages.</summary>
public sealed class IngestionFixture : IAsyncLifetime
{
    public ScriptedSource Source { get; } = new();
    public TestAuthority Authority { get; private set; } = null!;
    public TestDatabase Database { get; private set; } = null!;

    /// <summary>A second tenant store, on the other PostgreSQL server: tenants there keep their cursor there.</summary>
    public TestDatabase Store2 { get; private set; } = null!;

    public InsightsFactory Factory { get; private set; } = null!;
    public HttpClient Admin { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Authority = await TestAuthority.StartAsync();
        Database = await TestDatabase.CreateAsync();
        Store2 = await TestDatabase.CreateAsync(TestServices.StorePostgres());
        Factory = NewHost();
        Admin = Factory.ClientWithToken(Authority.AdminToken());
        foreach (var (name, priority) in new[] { ("CashFlowForecast", "normal"), ("StockRupture", "high") })
        {
            (await Admin.PutAsJsonAsync($"/api/v1/insight-definitions/{name}", new { module = "SIGAFIN", priority, online = true })).EnsureSuccessStatusCode();
        }
    }

    public InsightsFactory NewHost()
    {
        var settings = InsightsFactory.Settings(Authority, Database);
        settings["Ingestion:PageSize"] = "3";
        settings["Stores:" + InsightsFixture.SecondStore] = Store2.ConnectionString;
        settings["Ingestion:Interval"] = "1.00:00:00";
        return new InsightsFactory(settings, services: s =>
        {
            s.RemoveAll<IInsightSource>();
            s.AddSingleton<IInsightSource>(Source);
        });
    }

    public async Task DisposeAsync()
    {
        Admin.Dispose();
        await Factory.DisposeAsync();
        await Store2.DisposeAsync();
        await Database.DisposeAsync();
        await Authority.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class IngestionHost : ICollectionFixture<IngestionFixture>
{
    public const string Name = "ingestion";
}

[Collection(IngestionHost.Name)]
public sealed class IngestionTests(IngestionFixture host)
{
    private async Task<string> TenantAsync(string store = "main")
    {
        var id = InsightsFixture.NewTenantId("ing");
        (await host.Admin.PostAsJsonAsync("/api/v1/tenants", new { id, name = id, store })).EnsureSuccessStatusCode();
        await WaitIdleAsync(id, runs: 1);
        return id;
    }

    /// <summary>
    /// Waits until the tenant has at least <paramref name="runs"/> runs and none queued or running. Provisioning starts
    /// one through an event, so a new tenant may have none yet: waiting for it keeps it from taking a test's rows.
    /// </summary>
    private async Task<List<JsonElement>> WaitIdleAsync(string tenantId, HttpClient? admin = null, int runs = 0)
    {
        admin ??= host.Admin;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var page = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{tenantId}/ingestions");
            var items = page.GetProperty("items").EnumerateArray().Select(r => r.Clone()).ToList();
            if (items.Count >= runs && items.All(r => r.GetProperty("status").GetString() is not ("queued" or "running")))
            {
                return items;
            }

            Assert.True(DateTime.UtcNow < deadline, "The ingestion run did not finish.");
            await Task.Delay(50);
        }
    }

    private async Task<JsonElement> IngestAsync(string tenantId)
    {
        var start = await host.Admin.PostAsync($"/api/v1/tenants/{tenantId}/ingestions", null);
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        var runId = (await start.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runId").GetGuid();
        await WaitIdleAsync(tenantId);
        var run = await host.Admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{tenantId}/ingestions/{runId}");
        Assert.True(run.GetProperty("status").GetString() == "succeeded", run.ToString());
        return run;
    }

    private async Task<List<Delivery>> DrainAsync(string tenantId)
    {
        using var client = new QueueClient(null!, tenantId, host.Factory.ClientWithToken(host.Authority.TenantToken(tenantId)));
        var all = new List<Delivery>();
        while (true)
        {
            var batch = await client.ReceiveAsync(max: 100);
            if (batch.Count == 0)
            {
                return all;
            }

            all.AddRange(batch);
            await client.AckAsync(batch.Select(d => d.Receipt).ToArray());
        }
    }

    [Theory]
    [InlineData("main")]
    [InlineData("store2")]
    public async Task A_first_run_stores_every_model_and_enqueues_one_message_per_model(string store)
    {
        var tenant = await TenantAsync(store);
        host.Source.Set(tenant, Enumerable.Range(1, 7).Select(i => ScriptedSource.Model("m" + i, i)));

        var run = await IngestAsync(tenant);

        Assert.Equal(7, run.GetProperty("rowsRead").GetInt64());
        Assert.Equal(7, run.GetProperty("rowsChanged").GetInt64());
        Assert.Equal(7, run.GetProperty("messagesEnqueued").GetInt64());
        Assert.Equal(3, run.GetProperty("pages").GetInt32());
        Assert.Equal(3 * 10_485_760L, run.GetProperty("bytesBilled").GetInt64());
        Assert.True(run.GetProperty("estimatedCostUsd").GetDecimal() > 0);
        var messages = await DrainAsync(tenant);
        Assert.Equal(Enumerable.Range(1, 7).Select(i => "m" + i), messages.Select(m => m.Message.GetProperty("data").GetProperty("uuid").GetString()));
        var data = messages[0].Message.GetProperty("data");
        Assert.Equal("CashFlowForecast", data.GetProperty("insight").GetString());
        Assert.Equal("SIGAFIN", data.GetProperty("module").GetString());
        Assert.Equal("2026-11-01", data.GetProperty("dateFrom").GetString());
        Assert.Equal(1, data.GetProperty("payload").GetProperty("value").GetInt32());
        Assert.False(data.GetProperty("deleted").GetBoolean());
        Assert.Equal("2026-11-23T10:01:00Z", data.GetProperty("updatedAt").GetString());
        Assert.Equal("key-m1", data.GetProperty("key").GetString());
        Assert.Equal(1, data.GetProperty("version").GetInt64());
        var envelope = messages[0].Message;
        Assert.Equal("InsightModel", envelope.GetProperty("type").GetString());
        Assert.Equal("1.0", envelope.GetProperty("specversion").GetString());
        Assert.Equal(messages[0].Id, envelope.GetProperty("id").GetGuid());
        Assert.Equal(tenant, envelope.GetProperty("tenantId").GetString());
        Assert.Equal($"/insights/tenants/{tenant}", envelope.GetProperty("source").GetString());
        Assert.EndsWith("Z", envelope.GetProperty("time").GetString(), StringComparison.Ordinal);
        Assert.Equal("normal", envelope.GetProperty("priority").GetString());

        var models = await host.Factory.ClientWithToken(host.Authority.TenantToken(tenant)).GetFromJsonAsync<JsonElement>("/api/v1/insight-models?limit=500");
        Assert.Equal(7, models.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task Stored_models_filter_by_insight_key_and_update_time_and_page_newest_first()
    {
        var tenant = await TenantAsync();
        host.Source.Set(tenant, Enumerable.Range(1, 7).Select(i => ScriptedSource.Model("m" + i, i)));
        await IngestAsync(tenant);
        using var client = host.Factory.ClientWithToken(host.Authority.TenantToken(tenant));

        async Task<(List<string> Ids, string? Next)> ListAsync(string query)
        {
            var page = await client.GetFromJsonAsync<JsonElement>("/api/v1/insight-models?" + query);
            var next = page.GetProperty("nextCursor");
            return ([.. page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetString()!)],
                next.ValueKind == JsonValueKind.String ? next.GetString() : null);
        }

        Assert.Equal(["m3"], (await ListAsync("key=key-m3")).Ids);
        Assert.Equal(7, (await ListAsync("insight=CashFlowForecast&limit=500")).Ids.Count);
        Assert.Empty((await ListAsync("insight=SalesForecast")).Ids);
        Assert.Empty((await ListAsync("insight=CashFlowForecast&key=key-m9")).Ids);
        Assert.Equal(["m7", "m6", "m5"], (await ListAsync("updatedSince=2026-11-23T10:05:00Z")).Ids);

        // Pages of two from 10:02 on, with the insight filter: each page after the cursor of the one before.
        var walked = new List<string>();
        string? cursor = null;
        do
        {
            var (ids, next) = await ListAsync("insight=CashFlowForecast&updatedSince=2026-11-23T10:02:00Z&limit=2" + (cursor is null ? "" : "&cursor=" + cursor));
            walked.AddRange(ids);
            cursor = next;
        }
        while (cursor is not null);

        Assert.Equal(["m7", "m6", "m5", "m4", "m3", "m2"], walked);
    }

    [Fact]
    public async Task Connections_go_back_to_the_pool_without_the_run_lock_or_session_state()
    {
        var tenant = await TenantAsync();
        host.Source.Set(tenant, Enumerable.Range(1, 7).Select(i => ScriptedSource.Model("m" + i, i)));
        await IngestAsync(tenant);

        // Pooled connections are not reset on return: a run must leave nothing behind on the ones it used.
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(host.Database.ConnectionString);
        await using var command = dataSource.CreateCommand(
            """
            SELECT (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = hashtext($1)::oid),
                   (SELECT count(*) FROM pg_class WHERE relname = 'ingest_page')
            """);
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = tenant });
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(0, reader.GetInt64(0));
        Assert.Equal(0, reader.GetInt64(1));
    }

    [Theory]
    [InlineData("main")]
    [InlineData("store2")]
    public async Task A_second_run_with_nothing_new_enqueues_nothing_and_a_change_enqueues_exactly_one_message(string store)
    {
        var tenant = await TenantAsync(store);
        host.Source.Set(tenant, Enumerable.Range(1, 4).Select(i => ScriptedSource.Model("m" + i, i)));
        await IngestAsync(tenant);
        await DrainAsync(tenant);

        var idle = await IngestAsync(tenant);
        Assert.Equal(0, idle.GetProperty("rowsRead").GetInt64());
        Assert.Equal(0, idle.GetProperty("messagesEnqueued").GetInt64());
        Assert.Empty(await DrainAsync(tenant));

        // The source re-emits m2 with new content, and m3 with a later timestamp but the same content.
        host.Source.Upsert(tenant, ScriptedSource.Model("m2", 10, payload: """{"value":2}""", version: 2));
        host.Source.Upsert(tenant, ScriptedSource.Model("m3", 11));
        var changed = await IngestAsync(tenant);
        Assert.Equal(2, changed.GetProperty("rowsRead").GetInt64());
        Assert.Equal(1, changed.GetProperty("rowsChanged").GetInt64());
        var message = Assert.Single(await DrainAsync(tenant));
        Assert.Equal("m2", message.Message.GetProperty("data").GetProperty("uuid").GetString());
        Assert.Equal(2, message.Message.GetProperty("data").GetProperty("payload").GetProperty("value").GetInt32());
    }

    [Fact]
    public async Task A_deleted_model_enqueues_a_message_with_deleted_true()
    {
        var tenant = await TenantAsync();
        host.Source.Set(tenant, [ScriptedSource.Model("gone", 1)]);
        await IngestAsync(tenant);
        await DrainAsync(tenant);

        host.Source.Upsert(tenant, ScriptedSource.Model("gone", 2, deleted: true));
        await IngestAsync(tenant);

        var message = Assert.Single(await DrainAsync(tenant));
        Assert.True(message.Message.GetProperty("data").GetProperty("deleted").GetBoolean());
    }

    [Fact]
    public async Task Unknown_insight_types_are_counted_and_skipped_and_priority_comes_from_the_definition()
    {
        var tenant = await TenantAsync();
        host.Source.Set(tenant, [
            ScriptedSource.Model("a", 1),
            ScriptedSource.Model("b", 2, insight: "NobodyKnowsMe"),
            ScriptedSource.Model("c", 3, insight: "StockRupture"),
        ]);

        var run = await IngestAsync(tenant);

        Assert.Equal(3, run.GetProperty("rowsRead").GetInt64());
        Assert.Equal(1, run.GetProperty("skipped").GetInt64());
        Assert.Equal(1, run.GetProperty("skippedTypes").GetProperty("NobodyKnowsMe").GetInt32());
        var messages = await DrainAsync(tenant);
        Assert.Equal(["c", "a"], messages.Select(m => m.Message.GetProperty("data").GetProperty("uuid").GetString()));
        Assert.Equal("high", messages[0].Message.GetProperty("priority").GetString());
    }

    [Fact]
    public async Task One_tenants_source_rows_never_land_in_another()
    {
        var a = await TenantAsync();
        var b = await TenantAsync(InsightsFixture.SecondStore);
        host.Source.Set(a, [ScriptedSource.Model("only-a", 1)]);
        host.Source.Set(b, [ScriptedSource.Model("only-b", 1)]);
        await IngestAsync(a);
        await IngestAsync(b);

        Assert.Equal(["only-a"], (await DrainAsync(a)).Select(m => m.Message.GetProperty("data").GetProperty("uuid").GetString()));
        Assert.Equal(["only-b"], (await DrainAsync(b)).Select(m => m.Message.GetProperty("data").GetProperty("uuid").GetString()));
        await Problem.AssertAsync(await host.Admin.GetAsync($"/api/v1/tenants/{b}/ingestions/{(await WaitIdleAsync(a))[0].GetProperty("id").GetGuid()}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_trigger_during_a_run_returns_the_running_run()
    {
        var tenant = await TenantAsync();
        host.Source.Set(tenant, Enumerable.Range(1, 6).Select(i => ScriptedSource.Model("m" + i, i)));
        var release = new TaskCompletionSource();
        var reached = new TaskCompletionSource();
        host.Source.Hold = (1, reached, release.Task);
        try
        {
            var first = await (await host.Admin.PostAsync($"/api/v1/tenants/{tenant}/ingestions", null)).Content.ReadFromJsonAsync<JsonElement>();
            await reached.Task.WaitAsync(TimeSpan.FromSeconds(15));
            var second = await (await host.Admin.PostAsync($"/api/v1/tenants/{tenant}/ingestions", null)).Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(first.GetProperty("runId").GetGuid(), second.GetProperty("runId").GetGuid());
            Assert.Equal("running", second.GetProperty("status").GetString());
        }
        finally
        {
            host.Source.Hold = null;
            release.TrySetResult();
        }

        await WaitIdleAsync(tenant);
        Assert.Equal(6, (await DrainAsync(tenant)).Count);
    }

    [Theory]
    [InlineData("main")]
    [InlineData("store2")]
    public async Task A_worker_stopped_between_pages_loses_nothing_and_enqueues_nothing_twice(string store)
    {
        var tenant = await TenantAsync(store);
        host.Source.Set(tenant, Enumerable.Range(1, 9).Select(i => ScriptedSource.Model("m" + i, i)));
        var reached = new TaskCompletionSource();
        host.Source.Hold = (2, reached, Task.Delay(Timeout.Infinite));
        Guid interrupted;
        await using (var doomed = host.NewHost())
        {
            using var admin = doomed.ClientWithToken(host.Authority.AdminToken());
            var start = await (await admin.PostAsync($"/api/v1/tenants/{tenant}/ingestions", null)).Content.ReadFromJsonAsync<JsonElement>();
            interrupted = start.GetProperty("runId").GetGuid();
            await reached.Task.WaitAsync(TimeSpan.FromSeconds(15));

            // The stop must come between pages: after the first two are recorded, while the third is being read.
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while ((await admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{tenant}/ingestions/{interrupted}")).GetProperty("rowsRead").GetInt64() < 6)
            {
                Assert.True(DateTime.UtcNow < deadline, "The first two pages were not committed within 15 s.");
                await Task.Delay(20);
            }
        }

        host.Source.Hold = null;
        var stopped = await host.Admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{tenant}/ingestions/{interrupted}");
        Assert.Equal("interrupted", stopped.GetProperty("status").GetString());
        Assert.Equal(6, stopped.GetProperty("rowsRead").GetInt64());

        // The source changes meanwhile: m2 (already delivered) and m8 (not yet read) get new content.
        host.Source.Upsert(tenant, ScriptedSource.Model("m2", 20, payload: """{"value":2}"""));
        host.Source.Upsert(tenant, ScriptedSource.Model("m8", 21, payload: """{"value":2}"""));
        var resumed = await IngestAsync(tenant);
        Assert.Equal(4, resumed.GetProperty("rowsRead").GetInt64());

        var messages = await DrainAsync(tenant);
        var uuids = messages.Select(m => m.Message.GetProperty("data").GetProperty("uuid").GetString()).ToList();
        Assert.Equal(["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m9", "m2", "m8"], uuids);
        Assert.Equal(2, messages.Single(m => m.Message.GetProperty("data").GetProperty("uuid").GetString() == "m8").Message.GetProperty("data").GetProperty("payload").GetProperty("value").GetInt32());
    }

    [Fact]
    public async Task A_new_tenant_gets_its_first_run_at_once()
    {
        var id = InsightsFixture.NewTenantId("first");
        host.Source.Set(id, [ScriptedSource.Model("welcome", 1)]);
        (await host.Admin.PostAsJsonAsync("/api/v1/tenants", new { id, name = id })).EnsureSuccessStatusCode();

        var runs = await WaitIdleAsync(id, runs: 1);
        var run = Assert.Single(runs);
        Assert.Equal("provisioned", run.GetProperty("trigger").GetString());
        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        Assert.Equal("welcome", Assert.Single(await DrainAsync(id)).Message.GetProperty("data").GetProperty("uuid").GetString());

        var usage = await host.Admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{id}/usage");
        Assert.Equal(1, usage.GetProperty("ingestion").GetProperty("rowsRead").GetInt64());
        Assert.Equal(1, usage.GetProperty("ingestion").GetProperty("messagesEnqueued").GetInt64());
    }

    /// <summary>Queues a run as the scheduler does, and returns its id.</summary>
    private async Task<Guid> ScheduleAsync(string tenantId) =>
        (await host.Factory.Services.GetRequiredService<IngestionTrigger>().RequestAsync(tenantId, IngestionScheduler.Trigger, CancellationToken.None)).Id;

    /// <summary>The run once it is neither queued nor running; null once it is gone.</summary>
    private async Task<JsonElement?> FinishedAsync(string tenantId, Guid runId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var response = await host.Admin.GetAsync($"/api/v1/tenants/{tenantId}/ingestions/{runId}");
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }

            var run = await response.Content.ReadFromJsonAsync<JsonElement>();
            if (run.GetProperty("status").GetString() is not ("queued" or "running"))
            {
                return run;
            }

            Assert.True(DateTime.UtcNow < deadline, "The scheduled run did not finish.");
            await Task.Delay(50);
        }
    }

    private async Task<(DateTimeOffset? CheckedAt, string? Position)> CursorAsync(string tenantId)
    {
        await using var dataSource = host.Database.CreateDataSource();
        await using var command = dataSource.CreateCommand("SELECT checked_at, id FROM catalog.ingestion_cursors WHERE tenant_id = $1");
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = tenantId });
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync(), "The tenant has no cursor row.");
        return (reader.IsDBNull(0) ? null : reader.GetFieldValue<DateTimeOffset>(0), reader.IsDBNull(1) ? null : reader.GetString(1));
    }

    [Fact]
    public async Task Runs_list_newest_first_a_page_at_a_time()
    {
        var tenant = await TenantAsync();
        host.Source.Set(tenant, [ScriptedSource.Model("m1", 1)]);
        var second = (await IngestAsync(tenant)).GetProperty("id").GetGuid();
        var third = (await IngestAsync(tenant)).GetProperty("id").GetGuid();

        var seen = new List<Guid>();
        var url = $"/api/v1/tenants/{tenant}/ingestions?limit=1";
        while (true)
        {
            var page = await host.Admin.GetFromJsonAsync<JsonElement>(url);
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(r => r.GetProperty("id").GetGuid()));
            if (page.GetProperty("nextCursor").ValueKind == JsonValueKind.Null)
            {
                break;
            }

            url = $"/api/v1/tenants/{tenant}/ingestions?limit=1&cursor={Uri.EscapeDataString(page.GetProperty("nextCursor").GetString()!)}";
        }

        Assert.Equal(3, seen.Count);
        Assert.Equal([third, second], seen.Take(2));
        Assert.Equal("provisioned", (await host.Admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{tenant}/ingestions/{seen[2]}")).GetProperty("trigger").GetString());
    }

    [Fact]
    public async Task The_cursor_lives_on_the_tenants_store_and_the_catalogs_copy_is_repaired_from_it()
    {
        var tenant = await TenantAsync(InsightsFixture.SecondStore);
        host.Source.Set(tenant, Enumerable.Range(1, 4).Select(i => ScriptedSource.Model("m" + i, i)));
        await IngestAsync(tenant);
        Assert.Equal(4, (await DrainAsync(tenant)).Count);

        // The page's transaction wrote the cursor on the tenant's store, and the catalog's copy followed it.
        var schema = Insights.Database.SchemaName.ForTenant(tenant).Value;
        await using var store = host.Store2.CreateDataSource();
        await using (var position = store.CreateCommand("SELECT id FROM insights_store.ingestion_cursors WHERE schema_name = $1"))
        {
            position.Parameters.Add(new Npgsql.NpgsqlParameter { Value = schema });
            Assert.Equal("m4", (string?)await position.ExecuteScalarAsync());
        }

        Assert.Equal("m4", (await CursorAsync(tenant)).Position);

        // A crash between the store's commit and the catalog's copy leaves the copy behind: the next run reads from the
        // store's cursor (nothing again, nothing enqueued twice) and brings the copy up to it.
        await using (var catalog = host.Database.CreateDataSource())
        await using (var behind = catalog.CreateCommand("UPDATE catalog.ingestion_cursors SET id = 'm1', updated_at = updated_at - interval '1 day' WHERE tenant_id = $1"))
        {
            behind.Parameters.Add(new Npgsql.NpgsqlParameter { Value = tenant });
            Assert.Equal(1, await behind.ExecuteNonQueryAsync());
        }

        var again = await IngestAsync(tenant);
        Assert.Equal(0, again.GetProperty("rowsRead").GetInt64());
        Assert.Empty(await DrainAsync(tenant));
        Assert.Equal("m4", (await CursorAsync(tenant)).Position);
    }

    [Fact]
    public async Task A_scheduled_run_that_finds_nothing_leaves_no_run_and_the_cursor_records_the_check()
    {
        // The first run is kept although its source had nothing; it leaves a cursor row without a position.
        var tenant = await TenantAsync();
        var first = Assert.Single(await WaitIdleAsync(tenant));
        Assert.Equal("provisioned", first.GetProperty("trigger").GetString());
        var (firstCheck, position) = await CursorAsync(tenant);
        Assert.NotNull(firstCheck);
        Assert.Null(position);

        var idle = await ScheduleAsync(tenant);
        Assert.Null(await FinishedAsync(tenant, idle));
        var (idleCheck, _) = await CursorAsync(tenant);
        Assert.True(idleCheck > firstCheck, $"The check of the scheduled run ({idleCheck:O}) is not after the first one ({firstCheck:O}).");
        Assert.Single(await WaitIdleAsync(tenant));
        var usage = await host.Admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{tenant}/usage");
        Assert.Equal(idleCheck, usage.GetProperty("ingestion").GetProperty("lastCheckedAt").GetDateTimeOffset());
        Assert.Equal(1, usage.GetProperty("ingestion").GetProperty("runs").GetInt32());

        // A scheduled run that reads something is kept (from the start: a cursor row without a position is no position),
        // and so is an admin's run that finds nothing.
        host.Source.Set(tenant, Enumerable.Range(1, 4).Select(i => ScriptedSource.Model("m" + i, i)));
        var busy = await FinishedAsync(tenant, await ScheduleAsync(tenant));
        Assert.NotNull(busy);
        Assert.Equal("succeeded", busy.Value.GetProperty("status").GetString());
        Assert.Equal(4, busy.Value.GetProperty("rowsRead").GetInt64());
        Assert.Equal(0, (await IngestAsync(tenant)).GetProperty("rowsRead").GetInt64());
        Assert.Equal(["admin", "schedule", "provisioned"], (await WaitIdleAsync(tenant)).Select(r => r.GetProperty("trigger").GetString()));
    }

    [Fact]
    public async Task Insight_definitions_are_created_replaced_listed_and_deleted()
    {
        var name = "Probe" + Guid.NewGuid().ToString("N")[..6];
        var created = await host.Admin.PutAsJsonAsync($"/api/v1/insight-definitions/{name}", new { module = "SIGAEST", priority = "high", online = true, source = "live" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var replaced = await host.Admin.PutAsJsonAsync($"/api/v1/insight-definitions/{name}", new { module = "SIGAEST", priority = "normal" });
        Assert.Equal(HttpStatusCode.OK, replaced.StatusCode);
        var one = await host.Admin.GetFromJsonAsync<JsonElement>($"/api/v1/insight-definitions/{name}");
        Assert.Equal("normal", one.GetProperty("priority").GetString());
        Assert.False(one.GetProperty("online").GetBoolean());
        var all = await host.Admin.GetFromJsonAsync<JsonElement>("/api/v1/insight-definitions");
        Assert.Contains(all.GetProperty("items").EnumerateArray(), d => d.GetProperty("name").GetString() == name);

        await Problem.AssertAsync(await host.Admin.PutAsJsonAsync($"/api/v1/insight-definitions/{name}", new { module = "", priority = "urgent" }), HttpStatusCode.BadRequest);
        await Problem.AssertAsync(await host.Admin.PutAsJsonAsync("/api/v1/insight-definitions/9bad", new { module = "X" }), HttpStatusCode.BadRequest);
        Assert.Equal(HttpStatusCode.NoContent, (await host.Admin.DeleteAsync($"/api/v1/insight-definitions/{name}")).StatusCode);
        await Problem.AssertAsync(await host.Admin.GetAsync($"/api/v1/insight-definitions/{name}"), HttpStatusCode.NotFound);
        await Problem.AssertAsync(await host.Admin.DeleteAsync($"/api/v1/insight-definitions/{name}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Ingestion_endpoints_answer_404_for_unknown_tenants_and_runs()
    {
        await Problem.AssertAsync(await host.Admin.PostAsync("/api/v1/tenants/nobody-here/ingestions", null), HttpStatusCode.NotFound);
        await Problem.AssertAsync(await host.Admin.GetAsync("/api/v1/tenants/nobody-here/ingestions"), HttpStatusCode.NotFound);
        var tenant = await TenantAsync();
        await Problem.AssertAsync(await host.Admin.GetAsync($"/api/v1/tenants/{tenant}/ingestions/{Guid.NewGuid()}"), HttpStatusCode.NotFound);
        await Problem.AssertAsync(await host.Admin.GetAsync($"/api/v1/tenants/{tenant}/ingestions?cursor=%21%21"), HttpStatusCode.BadRequest);
    }
}
