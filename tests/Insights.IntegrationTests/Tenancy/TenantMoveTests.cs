using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Insights.Database;
using Insights.Ingestion;
using Insights.IntegrationTests.Infrastructure;
using Insights.IntegrationTests.Ingestion;
using Insights.IntegrationTests.SmartLink;
using Insights.SmartLink;
using Insights.Tenancy;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;

namespace Insights.IntegrationTests.Tenancy;

/// <summary>Moving a tenant's schema between the two PostgreSQL servers while its client works and its ingestion runs.</summary>
public sealed class TenantMoveTests : OwnDatabaseTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private readonly ScriptedSource source = new();
    private TestDatabase store2 = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        store2 = await Store2Async();
    }

    private InsightsFactory Node()
    {
        var settings = InsightsFactory.Settings(Authority, Database);
        settings["Stores:store2"] = store2.ConnectionString;
        settings["Ingestion:PageSize"] = "50";
        settings["Ingestion:Interval"] = "1.00:00:00";
        return new InsightsFactory(settings, services: s =>
        {
            s.RemoveAll<IInsightSource>();
            s.AddSingleton<IInsightSource>(source);
        });
    }

    [Fact]
    public async Task A_move_under_load_loses_nothing_delivers_nothing_twice_and_keeps_receipts_and_cursor()
    {
        await using var node = Node();
        using var admin = node.ClientWithToken(Authority.AdminToken());
        (await admin.PutAsJsonAsync("/api/v1/insight-definitions/CashFlowForecast", new { module = "SIGAFIN", priority = "normal" })).EnsureSuccessStatusCode();
        const string tenantId = "move-load";
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/tenants", new { id = tenantId, name = tenantId, store = "main" })).StatusCode);
        await WaitRunsIdleAsync(admin, tenantId);

        // 300 models through an ingestion run (300 messages), and 200 messages the client sends itself.
        source.Set(tenantId, Enumerable.Range(1, 300).Select(i => ScriptedSource.Model($"m{i:D3}", i)));
        await RunAsync(admin, tenantId);
        using var client = new QueueClient(null!, tenantId, node.ClientWithToken(Authority.TenantToken(tenantId)));
        var sent = new List<Guid>();
        for (var i = 0; i < 4; i++)
        {
            sent.AddRange(await EnqueueAsync(node, tenantId, [.. Enumerable.Range(0, 50).Select(n => $"sent-{i}-{n}")]));
        }

        // A delivery taken before the move, acked after it with the same receipt.
        var early = Assert.Single(await client.ReceiveAsync(max: 1, visibility: 600));

        // An ingestion run in flight: held in its second page while the move starts; the move waits for it.
        source.Upsert(tenantId, ScriptedSource.Model("late-1", 1000));
        source.Upsert(tenantId, ScriptedSource.Model("late-2", 1001));
        var reached = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        source.Hold = (0, reached, release.Task);
        var run = (await (await admin.PostAsync($"/api/v1/tenants/{tenantId}/ingestions", null)).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runId").GetGuid();
        await reached.Task.WaitAsync(Deadline);

        // The client receives and acks all along, retrying what the switch answers with 503.
        var delivered = new ConcurrentBag<Guid>();
        var unavailable = 0;
        using var stop = new CancellationTokenSource();
        var worker = Task.Run(async () =>
        {
            using var http = node.ClientWithToken(Authority.TenantToken(tenantId));
            while (!stop.IsCancellationRequested)
            {
                var response = await http.PostAsJsonAsync("/api/v1/smartlink/receive", new { max = 10, visibilityTimeoutSeconds = 600, waitSeconds = 1 });
                if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    Assert.NotNull(response.Headers.RetryAfter);
                    Interlocked.Increment(ref unavailable);
                    continue;
                }

                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                var messages = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("messages").EnumerateArray().ToList();
                var receipts = messages.Select(m => m.GetProperty("receipt").GetString()!).ToArray();
                foreach (var message in messages)
                {
                    delivered.Add(message.GetProperty("message").GetProperty("id").GetGuid());
                }

                while (receipts.Length > 0)
                {
                    var ack = await http.PostAsJsonAsync("/api/v1/smartlink/ack", new { receipts });
                    if (ack.StatusCode == HttpStatusCode.ServiceUnavailable)
                    {
                        Interlocked.Increment(ref unavailable);
                        continue;
                    }

                    Assert.Equal(HttpStatusCode.OK, ack.StatusCode);
                    Assert.Equal(receipts.Length, (await ack.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("acked").GetInt32());
                    break;
                }
            }
        });

        var measured = new ConcurrentBag<(string? Outcome, double Seconds)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name == "insights.tenant.move.writes_held")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "outcome")
                {
                    measured.Add((tag.Value as string, value));
                }
            }
        });
        listener.Start();

        var moved = await admin.PostAsJsonAsync($"/api/v1/tenants/{tenantId}/move", new { store = "store2" });
        Assert.Equal(HttpStatusCode.Accepted, moved.StatusCode);
        var location = moved.Headers.Location!.ToString();
        var accepted = await moved.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(accepted.TryGetProperty("moveId", out var moveId), accepted.ToString());
        Assert.EndsWith("/moves/" + moveId.GetGuid(), location, StringComparison.Ordinal);
        Assert.Equal("copying", await WaitForStatusAsync(admin, location, s => s == "copying"));

        // Another move of the same tenant meanwhile is refused, and so is its deletion.
        await Problem.AssertAsync(await admin.PostAsJsonAsync($"/api/v1/tenants/{tenantId}/move", new { store = "store2" }), HttpStatusCode.Conflict);
        await Problem.AssertAsync(await admin.DeleteAsync($"/api/v1/tenants/{tenantId}"), HttpStatusCode.Conflict);

        release.SetResult();
        source.Hold = null;
        Assert.Equal("succeeded", await WaitForStatusAsync(admin, location, s => s is "succeeded" or "failed"));
        var outcome = await admin.GetFromJsonAsync<JsonElement>(location);
        Assert.Equal(302, outcome.GetProperty("modelsCopied").GetInt64());
        Assert.True(outcome.GetProperty("switchMs").GetDouble() > 0);

        // The run in flight finished on the old store before the copy; its pages came along.
        var finished = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{tenantId}/ingestions/{run}");
        Assert.Equal("succeeded", finished.GetProperty("status").GetString());
        Assert.Equal(2, finished.GetProperty("rowsRead").GetInt64());

        // The client drains the queue on the new store.
        var expected = 300 + 200 + 2 - 1;
        var deadline = DateTime.UtcNow + Deadline;
        while (delivered.Count < expected)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{delivered.Count} of {expected} messages delivered.");
            await Task.Delay(50);
        }

        await stop.CancelAsync();
        await worker;
        Assert.Equal(expected, delivered.Count);
        Assert.Equal(expected, delivered.Distinct().Count());
        Assert.DoesNotContain(early.Message.GetProperty("id").GetGuid(), delivered);
        Assert.All(sent.Where(id => id != early.Message.GetProperty("id").GetGuid()), id => Assert.Contains(id, delivered));

        // The receipt from before the move acks after it; the cursor came along: a run reads nothing again.
        Assert.Equal(1, (await client.AckAsync(early.Receipt)).Acked);
        Assert.Equal(0, (await RunAsync(admin, tenantId)).GetProperty("rowsRead").GetInt64());
        var models = await client.Http.GetFromJsonAsync<JsonElement>("/api/v1/insight-models?limit=500");
        Assert.Equal(302, models.GetProperty("items").GetArrayLength());

        // Where it lives now, and nowhere else.
        Assert.Equal("store2", (await admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{tenantId}")).GetProperty("store").GetString());
        await using (var mainDb = Database.CreateDataSource())
        await using (var secondDb = store2.CreateDataSource())
        {
            Assert.False(await TenantData.SchemaExistsAsync(mainDb, tenantId));
            Assert.True(await TenantData.SchemaExistsAsync(secondDb, tenantId));
            await using var leftovers = mainDb.CreateCommand("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'moved\\_%'");
            Assert.Equal(0L, await leftovers.ExecuteScalarAsync());
        }

        // The move was measured: how long the tenant's writes were held, by outcome.
        Assert.Contains(measured, m => m.Outcome == "succeeded" && m.Seconds > 0);

        var stores = (await admin.GetFromJsonAsync<JsonElement>("/api/v1/stores")).GetProperty("items").EnumerateArray()
            .ToDictionary(s => s.GetProperty("name").GetString()!, s => s.GetProperty("tenants").GetInt64());
        Assert.Equal(0, stores["main"]);
        Assert.Equal(1, stores["store2"]);

        // New work lands on the new store.
        var after = Assert.Single(await EnqueueAsync(node, tenantId, "after the move"));
        var delivery = Assert.Single(await client.ReceiveAsync());
        Assert.Equal(after, delivery.Message.GetProperty("id").GetGuid());
    }

    [Fact]
    public async Task A_move_is_refused_clearly_and_changes_nothing()
    {
        await using var node = Node();
        using var admin = node.ClientWithToken(Authority.AdminToken());
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/tenants", new { id = "move-refused", name = "r", store = "main" })).StatusCode);

        await Problem.AssertAsync(await admin.PostAsJsonAsync("/api/v1/tenants/move-refused/move", new { store = "main" }), HttpStatusCode.Conflict);
        await Problem.AssertAsync(await admin.PostAsJsonAsync("/api/v1/tenants/move-refused/move", new { store = "elsewhere" }), HttpStatusCode.BadRequest);
        await Problem.AssertAsync(await admin.PostAsJsonAsync("/api/v1/tenants/move-refused/move", new { }), HttpStatusCode.BadRequest);
        foreach (var body in (string[])["""{"store":7}""", """{"store":"store2\n"}""", """{"store":"store2\u0000"}""", """{"store":"store2","extra":1}""", "[]", "{"])
        {
            using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
            await Problem.AssertAsync(await admin.PostAsync("/api/v1/tenants/move-refused/move", content), HttpStatusCode.BadRequest);
        }

        await Problem.AssertAsync(await admin.PostAsJsonAsync("/api/v1/tenants/nobody-here/move", new { store = "store2" }), HttpStatusCode.NotFound);
        await Problem.AssertAsync(await admin.GetAsync($"/api/v1/tenants/move-refused/moves/{Guid.NewGuid()}"), HttpStatusCode.NotFound);
        await Problem.AssertAsync(await admin.GetAsync("/api/v1/tenants/move-refused/moves/not-a-guid"), HttpStatusCode.NotFound);
        using (var tenant = node.ClientWithToken(Authority.TenantToken("move-refused")))
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await tenant.PostAsJsonAsync("/api/v1/tenants/move-refused/move", new { store = "store2" })).StatusCode);
        }

        Assert.Equal("main", (await admin.GetFromJsonAsync<JsonElement>("/api/v1/tenants/move-refused")).GetProperty("store").GetString());
        await using var db = Database.CreateDataSource();
        await using var moves = db.CreateCommand("SELECT count(*) FROM catalog.tenant_moves");
        Assert.Equal(0L, await moves.ExecuteScalarAsync());
    }

    /// <summary>Enqueues as the service does (the tenant resolved where it lives now).</summary>
    private static async Task<List<Guid>> EnqueueAsync(InsightsFactory node, string tenantId, params string[] texts)
    {
        var directory = node.Services.GetRequiredService<TenantDirectory>();
        directory.Evict(tenantId);
        var tenant = (await directory.FindAsync(tenantId, CancellationToken.None))!;
        var outgoing = texts.Select(t => OutgoingMessage.Create("InsightModel", MessagePriority.Normal, JsonSerializer.Serialize(new { text = t }))).ToList();
        await node.Services.GetRequiredService<QueueWriter>().EnqueueAsync(node.Services.GetRequiredService<Insights.Database.TenantDatabases>(), tenant, outgoing, CancellationToken.None);
        return [.. outgoing.Select(o => o.Id)];
    }

    [Fact]
    public async Task A_failed_move_leaves_the_tenant_where_it_was_intact_and_no_copy_behind()
    {
        await using var node = Node();
        using var admin = node.ClientWithToken(Authority.AdminToken());
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/tenants", new { id = "move-fails", name = "f", store = "main" })).StatusCode);
        var id = Assert.Single(await EnqueueAsync(node, "move-fails", "kept"));

        // A node whose tenant migrations cannot build the schema on the new store.
        var current = new TenantMigrator();
        var broken = new TenantMigrator(
            [.. current.Scripts, new TenantScript("9999_broken.sql", 9999, "CREATE TABLE $schema$.broken (id int REFERENCES $schema$.missing (id));")],
            current.Baseline);
        var settings = InsightsFactory.Settings(Authority, Database);
        settings["Stores:store2"] = store2.ConnectionString;
        await using (var failing = new InsightsFactory(settings, services: s => s.AddSingleton(broken)))
        {
            // The broken node sees the tenant's schema at another version than its latest: it refuses at once.
            using var failingAdmin = failing.ClientWithToken(Authority.AdminToken());
            await Problem.AssertAsync(await failingAdmin.PostAsJsonAsync("/api/v1/tenants/move-fails/move", new { store = "store2" }), HttpStatusCode.Conflict);
        }

        // A new store that refuses the copy (its journal refuses the schema's rows): the move fails and is undone.
        await using (var second = store2.CreateDataSource())
        await using (var block = second.CreateCommand(
            """
            CREATE FUNCTION insights_store.refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$;
            CREATE TRIGGER refuse BEFORE INSERT ON insights_store.tenant_schema_migrations FOR EACH ROW EXECUTE FUNCTION insights_store.refuse();
            """))
        {
            await block.ExecuteNonQueryAsync();
        }

        var moved = await admin.PostAsJsonAsync("/api/v1/tenants/move-fails/move", new { store = "store2" });
        Assert.Equal(HttpStatusCode.Accepted, moved.StatusCode);
        Assert.Equal("failed", await WaitForStatusAsync(admin, moved.Headers.Location!.ToString(), s => s is "succeeded" or "failed"));
        var outcome = await admin.GetFromJsonAsync<JsonElement>(moved.Headers.Location!.ToString());
        Assert.Contains("stayed on its store", outcome.GetProperty("error").GetString(), StringComparison.Ordinal);

        // The move is the tenant's: under another tenant's id it does not exist.
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/tenants", new { id = "move-other", name = "o", store = "main" })).StatusCode);
        var moveId = outcome.GetProperty("id").GetGuid();
        await Problem.AssertAsync(await admin.GetAsync($"/api/v1/tenants/move-other/moves/{moveId}"), HttpStatusCode.NotFound);

        Assert.Equal("main", (await admin.GetFromJsonAsync<JsonElement>("/api/v1/tenants/move-fails")).GetProperty("store").GetString());
        using var client = new QueueClient(null!, "move-fails", node.ClientWithToken(Authority.TenantToken("move-fails")));
        Assert.Equal(id, Assert.Single(await client.ReceiveAsync()).Message.GetProperty("id").GetGuid());
        await using var secondDb = store2.CreateDataSource();
        Assert.False(await TenantData.SchemaExistsAsync(secondDb, "move-fails"));
        await using var audit = Database.CreateDataSource().CreateCommand("SELECT outcome FROM catalog.audit_log WHERE tenant_id = 'move-fails' AND action = 'tenant.move' ORDER BY id");
        await using var reader = await audit.ExecuteReaderAsync();
        var outcomes = new List<string>();
        while (await reader.ReadAsync())
        {
            outcomes.Add(reader.GetString(0));
        }

        Assert.Equal(["rejected", "accepted", "failed"], outcomes);
    }

    [Fact]
    public async Task A_move_whose_node_died_in_the_switch_is_undone_by_the_next_node_to_start()
    {
        Guid moveId;
        await using (var node = Node())
        {
            using var admin = node.ClientWithToken(Authority.AdminToken());
            Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/tenants", new { id = "move-died", name = "d", store = "main" })).StatusCode);
            Assert.Single(await EnqueueAsync(node, "move-died", "kept"));
        }

        // What a node leaves when it dies between setting the old schema aside and switching the catalog: the schema under
        // its parked name, a copy on the new store, the move 'switching'.
        moveId = Guid.CreateVersion7();
        var schema = SchemaName.ForTenant("move-died");
        await using (var main = Database.CreateDataSource())
        await using (var park = main.CreateCommand(
            $"""
            ALTER SCHEMA {schema.Quoted} RENAME TO moved_{moveId:N};
            INSERT INTO catalog.tenant_moves (id, tenant_id, from_store, to_store, status, requested_by, started_at)
            VALUES ('{moveId}', 'move-died', 'main', 'store2', 'switching', 'tests', now())
            """))
        {
            await park.ExecuteNonQueryAsync();
        }

        await using (var second = store2.CreateDataSource())
        await using (var copy = second.CreateCommand($"CREATE SCHEMA {schema.Quoted}; CREATE TABLE {schema.Quoted}.queue_messages (id uuid)"))
        {
            await copy.ExecuteNonQueryAsync();
        }

        await using var next = Node();
        using var nextAdmin = next.ClientWithToken(Authority.AdminToken());
        var move = await nextAdmin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/move-died/moves/{moveId}");
        Assert.Equal("failed", move.GetProperty("status").GetString());
        using var client = new QueueClient(null!, "move-died", next.ClientWithToken(Authority.TenantToken("move-died")));
        Assert.Single(await client.ReceiveAsync());
        await using var secondDb = store2.CreateDataSource();
        Assert.False(await TenantData.SchemaExistsAsync(secondDb, "move-died"));
    }

    private static async Task<string> WaitForStatusAsync(HttpClient admin, string location, Func<string, bool> done)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var status = (await admin.GetFromJsonAsync<JsonElement>(location)).GetProperty("status").GetString()!;
            if (done(status))
            {
                return status;
            }

            Assert.True(DateTime.UtcNow < deadline, $"The move is still '{status}'.");
            await Task.Delay(20);
        }
    }

    private static async Task WaitRunsIdleAsync(HttpClient admin, string tenantId)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var runs = (await admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{tenantId}/ingestions")).GetProperty("items").EnumerateArray().ToList();
            if (runs.Count > 0 && runs.All(r => r.GetProperty("status").GetString() is not ("queued" or "running")))
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, "The tenant's runs did not finish.");
            await Task.Delay(20);
        }
    }

    private static async Task<JsonElement> RunAsync(HttpClient admin, string tenantId)
    {
        var start = await admin.PostAsync($"/api/v1/tenants/{tenantId}/ingestions", null);
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        var runId = (await start.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runId").GetGuid();
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var run = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{tenantId}/ingestions/{runId}");
            if (run.GetProperty("status").GetString() is not ("queued" or "running"))
            {
                Assert.Equal("succeeded", run.GetProperty("status").GetString());
                return run;
            }

            Assert.True(DateTime.UtcNow < deadline, "The run did not finish.");
            await Task.Delay(20);
        }
    }
}
