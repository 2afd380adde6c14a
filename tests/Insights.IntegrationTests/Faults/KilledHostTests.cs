using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Insights.Database;
using Insights.IntegrationTests.Infrastructure;
using Insights.IntegrationTests.SmartLink;
using Npgsql;
using Xunit.Abstractions;

namespace Insights.IntegrationTests.Faults;

/// <summary>
/// The host as a real process, killed with SIGKILL in the middle of its work and started again on the same database:
/// nothing gets to roll back, record a run's end or answer a client, so PostgreSQL's transactions are all that stand
/// between a dead node and a lost or duplicated model or message.
/// </summary>
/// <remarks>
/// The kills land where the test chooses, not where the machine's speed puts them: the test holds a lock the host must
/// wait for (a gate), waits until PostgreSQL shows the host's statement waiting on it, kills, and only then lets go.
/// </remarks>
public sealed class KilledHostTests(ITestOutputHelper output) : OwnDatabaseTests
{
    private const int PageSize = 1_000;

    /// <summary>Leases outlive any test: only the test ends them, when it chooses (see the receive test).</summary>
    private const int LeaseSeconds = 3_600;

    /// <summary>The ingestion runner's advisory lock namespace ("ings"), the first key of each tenant's run lock.</summary>
    private const int IngestionLockNamespace = 0x696E6773;

    /// <summary>For conditions that take a second or two here; a hung host fails the test instead of hanging it.</summary>
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly List<HostProcess> hosts = [];
    private DirectoryInfo sourceFolder = null!;
    private NpgsqlDataSource dataSource = null!;
    private TestDatabase store2 = null!;
    private NpgsqlDataSource store2Source = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        sourceFolder = Directory.CreateTempSubdirectory("insights-faults-");
        dataSource = Database.CreateDataSource();
        store2 = await Store2Async();
        store2Source = store2.CreateDataSource();
    }

    /// <summary>The database of a tenant store: <c>main</c> is the catalog's.</summary>
    private NpgsqlDataSource StoreSource(string store) => store == InsightsFixture.SecondStore ? store2Source : dataSource;

    public override async Task DisposeAsync()
    {
        foreach (var host in hosts)
        {
            host.Dispose();
        }

        await dataSource.DisposeAsync();
        await store2Source.DisposeAsync();
        sourceFolder.Delete(recursive: true);
        await base.DisposeAsync();
    }

    [Theory]
    [InlineData("main")]
    [InlineData("store2")]
    public async Task Nothing_is_lost_or_enqueued_twice_when_the_worker_is_killed_twice_in_the_middle_of_an_ingestion(string store)
    {
        const int models = 30_000;
        var tenantDb = StoreSource(store);
        var first = await StartHostAsync("host-1");
        using var admin1 = first.Client(Authority.AdminToken());
        var tenantId = await ProvisionAsync(admin1, store: store);
        var schema = SchemaName.ForTenant(tenantId);
        // Provisioning ran the tenant's first ingestion over a folder without its models; it must be over before they
        // arrive, or it would ingest them past the gates.
        await WaitUntilAsync("the provisioning run to end", first, async () => (await RunsAsync(admin1, tenantId)) is [{ } run] && Status(run) == "succeeded");

        // The first kill: pages 1 and 2 committed, page 3's upsert waiting for the gate (its first model is the test's
        // uncommitted row) in a transaction that has not enqueued yet, page 4 read ahead into a transaction of its own.
        Guid runId;
        List<string> waiting = [];
        await using (var gate = await Gate.HoldAsync(tenantDb, ModelGate(schema), ModelId(2 * PageSize)))
        {
            WriteModels(tenantId, models);
            runId = await TriggerAsync(admin1, tenantId);
            await WaitUntilAsync("page 3 to wait at the gate", first, async () => (waiting = await gate.WaitingAsync()).Count > 0);
            Assert.Contains("INSERT INTO", Assert.Single(waiting), StringComparison.Ordinal);
            first.Kill();
            await gate.ReleaseAsync();
        }

        await AssertCommittedAsync(tenantDb, schema, tenantId, runId, pages: 2);

        // The second kill, on the run resumed by a new host: pages 3 to 9 committed, page 10 waiting at the gate.
        await using (var gate = await Gate.HoldAsync(tenantDb, ModelGate(schema), ModelId(9 * PageSize)))
        {
            var second = await StartHostAsync("host-2");
            using var admin2 = second.Client(Authority.AdminToken());
            Assert.Equal(runId, await TriggerAsync(admin2, tenantId));
            await WaitUntilAsync("page 10 to wait at the gate", second, async () =>
            {
                if ((waiting = await gate.WaitingAsync()).Count > 0)
                {
                    return true;
                }

                Assert.False(await ResumeIfOrphanedAsync(admin2, tenantId, runId), "The run went past the gate.");
                return false;
            });
            Assert.Contains("INSERT INTO", Assert.Single(waiting), StringComparison.Ordinal);
            second.Kill();
            await gate.ReleaseAsync();
        }

        await AssertCommittedAsync(tenantDb, schema, tenantId, runId, pages: 9);

        var third = await StartHostAsync("host-3");
        using var admin3 = third.Client(Authority.AdminToken());
        if (await TriggerAsync(admin3, tenantId) is var triggered && triggered != runId)
        {
            // The new host's reaper sent the orphaned run again as it started, and it finished before the request: the
            // request then queued a run of its own, which finds nothing left to read.
            Assert.Equal("succeeded", Status(await admin3.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{tenantId}/ingestions/{runId}")));
        }

        await WaitUntilAsync("the resumed run to succeed", third, () => ResumeIfOrphanedAsync(admin3, tenantId, runId));

        // One run did it all, across three processes, and counted every page once.
        var finished = await admin3.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{tenantId}/ingestions/{runId}");
        Assert.True(Status(finished) == "succeeded", finished.ToString());
        Assert.Equal(models / PageSize, finished.GetProperty("pages").GetInt32());
        Assert.Equal(models, finished.GetProperty("rowsRead").GetInt64());
        Assert.Equal(models, finished.GetProperty("rowsChanged").GetInt64());
        Assert.Equal(models, finished.GetProperty("messagesEnqueued").GetInt64());
        var usage = await admin3.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{tenantId}/usage");
        Assert.Equal(models, usage.GetProperty("ingestion").GetProperty("rowsRead").GetInt64());
        Assert.Equal(models, usage.GetProperty("ingestion").GetProperty("messagesEnqueued").GetInt64());

        // Every model stored once, and one message per model: the same ids, no more, no fewer.
        var expected = Enumerable.Range(0, models).Select(ModelId).ToHashSet(StringComparer.Ordinal);
        var stored = await StringsAsync(tenantDb, $"SELECT id FROM {schema.Quoted}.insight_models");
        Assert.Equal(models, stored.Count);
        Assert.True(expected.SetEquals(stored), "The stored models are not the source's.");
        Assert.Equal(["InsightModel"], await StringsAsync(tenantDb, $"SELECT DISTINCT type FROM {schema.Quoted}.queue_messages"));
        var messaged = await StringsAsync(tenantDb, $"SELECT envelope::json -> 'data' ->> 'uuid' FROM {schema.Quoted}.queue_messages");
        Assert.Equal(models, messaged.Count);
        Assert.True(expected.SetEquals(messaged), "The queue does not hold exactly one message per model.");
        Assert.Equal(models, (await StringsAsync(tenantDb, $"SELECT DISTINCT envelope::json ->> 'id' FROM {schema.Quoted}.queue_messages")).Count);
    }

    [Fact]
    public async Task Nothing_is_lost_when_the_host_is_killed_while_clients_receive_and_ack()
    {
        const int messages = 3_000;
        const int batch = 10;
        var tenantId = InsightsFixture.NewTenantId("kill");
        var schema = SchemaName.ForTenant(tenantId);
        WriteModels(tenantId, messages);
        var first = await StartHostAsync("host-1");
        using var admin = first.Client(Authority.AdminToken());
        await ProvisionAsync(admin, tenantId);
        await WaitUntilAsync("the provisioning run to enqueue every model", first, async () =>
            (await RunsAsync(admin, tenantId)) is [{ } run] && Status(run) == "succeeded" && run.GetProperty("messagesEnqueued").GetInt64() == messages);
        var enqueued = (await StringsAsync($"SELECT id::text FROM {schema.Quoted}.queue_messages")).Select(Guid.Parse).ToHashSet();
        Assert.Equal(messages, enqueued.Count);

        // Two clients receive and ack until a third of the queue is acked. Then one sends the ack of a batch it holds and
        // the other a receive, into a queue the test has locked: the host dies with both statements waiting inside
        // PostgreSQL, whatever the speed of the machine.
        var log = new ClientLog();
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var client = new QueueClient(null!, tenantId, first.Client(Authority.TenantToken(tenantId)));
        var acker = new FrozenClient(client, log, batch, endWithAck: true);
        var receiver = new FrozenClient(client, log, batch, endWithAck: false);
        var acking = acker.RunAsync(messages / 3, go.Task);
        var receiving = receiver.RunAsync(messages / 3, go.Task);
        await WaitUntilAsync("both clients to reach a third of the queue", first, () =>
            Task.FromResult((acker.Ready && receiver.Ready) || acking.IsCompleted || receiving.IsCompleted));
        Assert.True(acker.Ready && receiver.Ready, "A client stopped before it reached a third of the queue.");

        string[] inDoubt;
        await using (var gate = await Gate.HoldAsync(dataSource, $"LOCK TABLE {schema.Quoted}.queue_messages IN EXCLUSIVE MODE"))
        {
            go.SetResult();
            List<string> waiting = [];
            await WaitUntilAsync("the ack and the receive to wait for the locked queue", first, async () => (waiting = await gate.WaitingAsync()).Count == 2);
            Assert.Single(waiting, q => q.Contains("FOR UPDATE SKIP LOCKED", StringComparison.Ordinal));
            Assert.Single(waiting, q => q.Contains("SET status = 'acked'", StringComparison.Ordinal));
            first.Kill();
            inDoubt = await acking;
            Assert.Empty(await receiving);
            Assert.NotEmpty(inDoubt);

            // The dead host's statements go on once the queue is free. Each is an implicit transaction whose end PostgreSQL
            // may already have read, so it can still commit: a lease nobody will see, an ack nobody was told of.
            await gate.ReleaseAsync();
        }

        var ackedAtKill = log.AckedCount;
        var ackedByTheDeadHost = (await StringsAsync(
            $"SELECT id::text FROM {schema.Quoted}.queue_messages WHERE status = 'acked' AND id = ANY ($1)", inDoubt.Select(log.MessageOf).ToArray())).Count;
        var second = await StartHostAsync("host-2");
        using var survivor = new QueueClient(null!, tenantId, second.Client(Authority.TenantToken(tenantId)));

        // A client whose ack got no answer acks again: its leases still hold, and a receipt of a delivery the dead host
        // did ack is acked again harmlessly. Either way nothing it saw is delivered a second time.
        var (reacked, rejected) = await survivor.AckAsync(inDoubt);
        Assert.Empty(rejected);
        Assert.Equal(inDoubt.Length, reacked);
        log.Acked(inDoubt);

        // What the dead host leased for the receive whose answer never came is invisible until its lease runs out. The
        // lease is long, so that no delivery a client did see can expire under a slow test; the test ends the leases now,
        // as their timeout would.
        var lost = (await StringsAsync($"UPDATE {schema.Quoted}.queue_messages SET visible_at = now() WHERE status = 'leased' RETURNING id::text"))
            .Select(Guid.Parse).ToHashSet();
        output.WriteLine($"At the kill: {ackedAtKill} acked; an ack of {inDoubt.Length} without an answer, of which the dead host had acked {ackedByTheDeadHost}; "
            + $"{lost.Count} messages leased by the receive without an answer.");
        Assert.True(lost.Count <= batch, $"{lost.Count} messages were leased to nobody; one receive of at most {batch} was in flight.");
        Assert.DoesNotContain(log.Deliveries, d => lost.Contains(d.Id));

        await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => ConsumeUntilEmptyAsync(survivor, log, batch)));

        // Every message delivered and acked; the only ones delivered twice are the ones the dead host leased for the
        // receive in flight, and the clients saw each message once.
        Assert.True(enqueued.SetEquals(log.AckedIds), $"Acked {log.AckedIds.Count} of {messages}; {enqueued.Except(log.AckedIds).Count()} never acked.");
        Assert.Equal(messages, log.Deliveries.Count);
        Assert.Equal(messages, log.Deliveries.Select(d => d.Id).Distinct().Count());
        Assert.True(lost.SetEquals(log.Deliveries.Where(d => d.DeliveryCount > 1).Select(d => d.Id)), "Messages other than those in flight were delivered twice.");
        Assert.All(log.Deliveries.Where(d => lost.Contains(d.Id)), d => Assert.Equal(2, d.DeliveryCount));

        // And the table agrees: nothing ready, leased or dead; one delivery each, two for those leased at the kill.
        var rows = await StringsAsync($"SELECT status || ':' || delivery_count || ':' || count(*) FROM {schema.Quoted}.queue_messages GROUP BY status, delivery_count ORDER BY 1");
        var expectedRows = new List<string> { $"acked:1:{messages - lost.Count}" };
        if (lost.Count > 0)
        {
            expectedRows.Add($"acked:2:{lost.Count}");
        }

        Assert.Equal(expectedRows, rows);
        Assert.Empty(await survivor.ReceiveAsync(max: 100));
    }

    private static async Task ConsumeUntilEmptyAsync(QueueClient client, ClientLog log, int batch)
    {
        while (await client.ReceiveAsync(batch, LeaseSeconds) is { Count: > 0 } received)
        {
            log.Delivered(received);
            await AckAsync(client, log, received);
        }
    }

    [Fact]
    public async Task Nothing_is_lost_or_enqueued_twice_when_the_worker_is_killed_in_the_middle_of_a_fleet_sweep()
    {
        const int models = 3_000;
        var first = await StartHostAsync("host-1");
        using var admin1 = first.Client(Authority.AdminToken());
        var tenants = new[] { await ProvisionAsync(admin1), await ProvisionAsync(admin1) };
        foreach (var tenant in tenants)
        {
            // The provisioning runs read a folder without the tenants' models; from then on the tenants ride the sweep.
            await WaitUntilAsync("the provisioning run to end", first, async () => (await RunsAsync(admin1, tenant)) is [{ } run] && Status(run) == "succeeded");
        }

        first.Kill();

        // Both tenants' models were updated in the last minutes (within the sweep's look-back), at the same times, so each
        // page of the sweep holds rows of both. The sweep stops at the second tenant's part of page 2, after the first
        // tenant's part of page 1 at least committed.
        var from = DateTime.UtcNow.AddMinutes(-15);
        foreach (var tenant in tenants)
        {
            WriteModels(tenant, models, from);
        }

        var schemas = tenants.Select(SchemaName.ForTenant).ToArray();
        await using (var gate = await Gate.HoldAsync(dataSource, ModelGate(schemas[1]), ModelId(PageSize)))
        {
            var second = await StartHostAsync("host-2");
            await WaitUntilAsync("the sweep to wait at the gate", second, async () => (await gate.WaitingAsync()).Count > 0);
            second.Kill();
            await gate.ReleaseAsync();
        }

        Assert.Equal("running", await ScalarAsync<string>("SELECT status FROM catalog.ingestion_sweeps ORDER BY requested_at DESC LIMIT 1"));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM catalog.ingestion_fleet"));
        Assert.InRange(await ScalarAsync<long>($"SELECT count(*) FROM {schemas[0].Quoted}.insight_models"), 1, models - 1);

        // A new host's scheduler sends the sweep's command again; its worker reads the same rows again from the start.
        var third = await StartHostAsync("host-3");
        await WaitUntilAsync("the sweep to succeed", third, async () =>
            await ScalarAsync<string>("SELECT status FROM catalog.ingestion_sweeps ORDER BY requested_at DESC LIMIT 1") == "succeeded");

        var expected = Enumerable.Range(0, models).Select(ModelId).ToHashSet(StringComparer.Ordinal);
        foreach (var schema in schemas)
        {
            var stored = await StringsAsync($"SELECT id FROM {schema.Quoted}.insight_models");
            Assert.Equal(models, stored.Count);
            Assert.True(expected.SetEquals(stored), "The stored models are not the source's.");
            var messaged = await StringsAsync($"SELECT envelope::json -> 'data' ->> 'uuid' FROM {schema.Quoted}.queue_messages");
            Assert.Equal(models, messaged.Count);
            Assert.True(expected.SetEquals(messaged), "The queue does not hold exactly one message per model.");
        }
    }

    private async Task<T> ScalarAsync<T>(string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private static async Task AckAsync(QueueClient client, ClientLog log, List<Delivery> received)
    {
        var receipts = received.Select(d => d.Receipt).ToArray();
        var (acked, rejected) = await client.AckAsync(receipts);
        Assert.Empty(rejected);
        Assert.Equal(receipts.Length, acked);
        log.Acked(receipts);
    }

    private async Task<HostProcess> StartHostAsync(string name)
    {
        var host = await HostProcess.StartAsync(name, new Dictionary<string, string>
        {
            ["ConnectionStrings__Insights"] = Database.ConnectionString,
            ["Stores__" + InsightsFixture.SecondStore] = store2.ConnectionString,
            ["Authentication__Authority"] = Authority.Issuer,
            ["Authentication__RequireHttpsMetadata"] = "false",
            ["Bus__Transport"] = "InMemory",
            ["Ingestion__Source"] = "Local",
            ["Ingestion__Local__Folder"] = sourceFolder.FullName,
            ["Ingestion__PageSize"] = PageSize.ToString(CultureInfo.InvariantCulture),
            // The scheduler's first sweep at start is the only one a test sees; a sweep or run whose worker died is sent
            // again within a second.
            ["Ingestion__Interval"] = "1.00:00:00",
            ["Ingestion__ReaperInterval"] = "00:00:01",
            // A line per request would bury the lines that tell what happened.
            ["Logging__LogLevel__Microsoft.AspNetCore.Hosting.Diagnostics"] = "Warning",
        }, output);
        hosts.Add(host);
        return host;
    }

    private static async Task<string> ProvisionAsync(HttpClient admin, string? tenantId = null, string store = "main")
    {
        (await admin.PutAsJsonAsync("/api/v1/insight-definitions/CashFlowForecast", new { module = "SIGAFIN", priority = "normal" })).EnsureSuccessStatusCode();
        tenantId ??= InsightsFixture.NewTenantId("kill");
        var response = await admin.PostAsJsonAsync("/api/v1/tenants", new { id = tenantId, name = "Tenant " + tenantId, store });
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return tenantId;
    }

    private static async Task<Guid> TriggerAsync(HttpClient admin, string tenantId)
    {
        var response = await admin.PostAsync($"/api/v1/tenants/{tenantId}/ingestions", null);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runId").GetGuid();
    }

    private static async Task<List<JsonElement>> RunsAsync(HttpClient admin, string tenantId) =>
        [.. (await admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{tenantId}/ingestions")).GetProperty("items").EnumerateArray().Select(r => r.Clone())];

    private static string? Status(JsonElement run) => run.GetProperty("status").GetString();

    /// <summary>
    /// True once the run has succeeded. A run the killed host left <c>running</c> resumes on the next request for the
    /// tenant (the new host's first scheduler sweep is one); a request that came while PostgreSQL still held the dead
    /// session's run lock was a no-op, so when the run is still <c>running</c> and no session holds its lock, this asks
    /// again, as the next sweep would.
    /// </summary>
    private async Task<bool> ResumeIfOrphanedAsync(HttpClient admin, string tenantId, Guid runId)
    {
        var run = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{tenantId}/ingestions/{runId}");
        switch (Status(run))
        {
            case "succeeded":
                return true;
            case "running":
                await using (var held = dataSource.CreateCommand(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::oid AND objid = hashtext($2)::oid AND objsubid = 2 AND granted)"))
                {
                    held.Parameters.Add(new NpgsqlParameter { Value = (long)IngestionLockNamespace });
                    held.Parameters.Add(new NpgsqlParameter { Value = tenantId });
                    if (!(bool)(await held.ExecuteScalarAsync())!)
                    {
                        output.WriteLine($"Run {runId} is running and no session holds its lock: requesting it again.");
                        if (await TriggerAsync(admin, tenantId) != runId)
                        {
                            // It ended between the look and the request (its lock went with it), which then queued the
                            // tenant's next run: the run must have succeeded.
                            var ended = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{tenantId}/ingestions/{runId}");
                            Assert.True(Status(ended) == "succeeded", $"The run ended {Status(ended)}: {ended}");
                            return true;
                        }
                    }
                }

                return false;
            default:
                Assert.Fail($"The run ended {Status(run)}: {run}");
                return false;
        }
    }

    /// <summary>
    /// What the killed host left committed: exactly its first <paramref name="pages"/> pages, counted once in the run
    /// (still <c>running</c>: nothing recorded how it ended), with one message per model and the cursor at the last one.
    /// </summary>
    private async Task AssertCommittedAsync(NpgsqlDataSource tenantDb, SchemaName schema, string tenantId, Guid runId, int pages)
    {
        var models = pages * PageSize;
        await using (var run = dataSource.CreateCommand(
            "SELECT r.status, r.pages, r.rows_read, r.messages_enqueued, (SELECT id FROM catalog.ingestion_cursors WHERE tenant_id = $2) FROM catalog.ingestion_runs r WHERE r.id = $1"))
        {
            run.Parameters.Add(new NpgsqlParameter { Value = runId });
            run.Parameters.Add(new NpgsqlParameter { Value = tenantId });
            await using var reader = await run.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal("running", reader.GetString(0));
            Assert.Equal(pages, reader.GetInt32(1));
            Assert.Equal(models, reader.GetInt64(2));
            Assert.Equal(models, reader.GetInt64(3));
            Assert.Equal(ModelId(models - 1), reader.GetString(4));
        }

        // On the tenant's store: the models, their messages and the cursor, committed together.
        await using var command = tenantDb.CreateCommand(
            $"""
            SELECT (SELECT count(*) FROM {schema.Quoted}.insight_models),
                   (SELECT max(id) FROM {schema.Quoted}.insight_models),
                   (SELECT count(*) FROM {schema.Quoted}.queue_messages),
                   (SELECT count(DISTINCT envelope::json -> 'data' ->> 'uuid') FROM {schema.Quoted}.queue_messages),
                   (SELECT id FROM insights_store.ingestion_cursors WHERE schema_name = $1)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = schema.Value });
        await using (var reader = await command.ExecuteReaderAsync())
        {
            Assert.True(await reader.ReadAsync());
            Assert.Equal(models, reader.GetInt64(0));
            Assert.Equal(ModelId(models - 1), reader.GetString(1));
            Assert.Equal(models, reader.GetInt64(2));
            Assert.Equal(models, reader.GetInt64(3));
            Assert.Equal(ModelId(models - 1), reader.GetString(4));
        }
    }

    private Task<List<string>> StringsAsync(string sql, params object[] parameters) => StringsAsync(dataSource, sql, parameters);

    private static async Task<List<string>> StringsAsync(NpgsqlDataSource db, string sql, params object[] parameters)
    {
        await using var command = db.CreateCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        await using var reader = await command.ExecuteReaderAsync();
        var values = new List<string>();
        while (await reader.ReadAsync())
        {
            values.Add(reader.GetString(0));
        }

        return values;
    }

    private static async Task WaitUntilAsync(string what, HostProcess host, Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (HttpRequestException) when (host.HasExited)
            {
                // Said below, with how it ended.
            }

            Assert.False(host.HasExited, $"The {host.ExitDescription} while the test waited for {what}. {host.RecentOutput()}");
            Assert.True(DateTime.UtcNow < deadline, $"Waited {Deadline.TotalSeconds:F0} s for {what}. {host.RecentOutput()}");
            await Task.Delay(50);
        }
    }

    /// <summary>
    /// The gate of a page: the test's own uncommitted row with the id of the page's first model, which the page's upsert
    /// must wait for (a unique key being inserted by another transaction).
    /// </summary>
    private static string ModelGate(SchemaName schema) =>
        $"INSERT INTO {schema.Quoted}.insight_models (id, insight, module, payload, version, updated_at) VALUES ($1, 'Gate', 'GATE', '{{}}', 0, now())";

    /// <summary>Ids sort as they are numbered, so the source's order (updated_at, then id) is the numbering.</summary>
    private static string ModelId(int index) => "m" + index.ToString("D6", CultureInfo.InvariantCulture);

    /// <summary>
    /// The tenant's models in the local source's NDJSON, split over two files. Seven models share each timestamp, so
    /// pages end in the middle of a timestamp and a resumed run must order by id after the cursor's. Each file appears
    /// whole (written aside, then renamed), so a run never reads half of one.
    /// </summary>
    private void WriteModels(string tenantId, int count, DateTime? from = null)
    {
        var start = (from ?? new DateTime(2026, 11, 23, 10, 0, 0, DateTimeKind.Utc)).AddTicks(1_234_560);
        for (var file = 0; file < 2; file++)
        {
            var lines = new StringBuilder();
            for (var i = file; i < count; i += 2)
            {
                var updatedAt = start.AddSeconds(i / 7).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
                lines.Append(CultureInfo.InvariantCulture,
                    $$"""{"tenant_id":"{{tenantId}}","id":"{{ModelId(i)}}","insight":"CashFlowForecast","module":"SIGAFIN","key":"{{i % 50:D2}}","filter":"E1_FILIAL = '01'","date_from":"2026-11-01","date_to":"2026-11-30","payload":{"sequence":{{i}},"saldoPrevisto":{{i * 3}}.25},"version":1,"updated_at":"{{updatedAt}}","deleted":false}""");
                lines.Append('\n');
            }

            var path = Path.Combine(sourceFolder.FullName, $"{tenantId}-{file}.ndjson");
            File.WriteAllText(path + ".part", lines.ToString());
            File.Move(path + ".part", path);
        }
    }

    /// <summary>
    /// A statement the test runs in a transaction it keeps open, so that the host waits for it; releasing rolls it back,
    /// so nothing of it is ever seen.
    /// </summary>
    private sealed class Gate : IAsyncDisposable
    {
        private readonly NpgsqlDataSource dataSource;
        private readonly NpgsqlConnection connection;
        private readonly NpgsqlTransaction transaction;
        private List<int> waiting = [];
        private bool released;

        private Gate(NpgsqlDataSource dataSource, NpgsqlConnection connection, NpgsqlTransaction transaction)
        {
            this.dataSource = dataSource;
            this.connection = connection;
            this.transaction = transaction;
        }

        public static async Task<Gate> HoldAsync(NpgsqlDataSource dataSource, string sql, params object[] parameters)
        {
            var connection = await dataSource.OpenConnectionAsync();
            var transaction = await connection.BeginTransactionAsync();
            await using (var command = new NpgsqlCommand(sql, connection, transaction))
            {
                foreach (var parameter in parameters)
                {
                    command.Parameters.Add(new NpgsqlParameter { Value = parameter });
                }

                await command.ExecuteNonQueryAsync();
            }

            return new Gate(dataSource, connection, transaction);
        }

        /// <summary>The statements of the sessions waiting for this transaction now.</summary>
        public async Task<List<string>> WaitingAsync()
        {
            await using var command = dataSource.CreateCommand("SELECT pid, query FROM pg_stat_activity WHERE $1 = ANY (pg_blocking_pids(pid))");
            command.Parameters.Add(new NpgsqlParameter { Value = connection.ProcessID });
            var pids = new List<int>();
            var queries = new List<string>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                pids.Add(reader.GetInt32(0));
                queries.Add(reader.GetString(1));
            }

            waiting = pids;
            return queries;
        }

        /// <summary>
        /// Lets the waiting sessions of a killed host go on, and waits until they have ended: each finishes the statement
        /// it was in, then finds its client gone. After this, what the dead host committed stays as it is.
        /// </summary>
        public async Task ReleaseAsync()
        {
            await RollbackAsync();
            var deadline = DateTime.UtcNow + Deadline;
            while (true)
            {
                await using var command = dataSource.CreateCommand("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY ($1)");
                command.Parameters.Add(new NpgsqlParameter { Value = waiting.ToArray() });
                if ((long)(await command.ExecuteScalarAsync())! == 0)
                {
                    return;
                }

                Assert.True(DateTime.UtcNow < deadline, $"The dead host's sessions {string.Join(", ", waiting)} did not end within {Deadline.TotalSeconds:F0} s.");
                await Task.Delay(50);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await RollbackAsync();
            await connection.DisposeAsync();
        }

        private async Task RollbackAsync()
        {
            if (!released)
            {
                released = true;
                await transaction.RollbackAsync();
                await transaction.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// A client that receives and acks until a number of messages are acked, then stops at a chosen step: holding a
    /// batch it is about to ack, or about to receive. Once let go it sends that one request, which the test makes the
    /// host die in.
    /// </summary>
    private sealed class FrozenClient(QueueClient client, ClientLog log, int batch, bool endWithAck)
    {
        private volatile bool ready;

        public bool Ready => ready;

        /// <summary>Returns the receipts of the ack that got no answer (none for a receive).</summary>
        public async Task<string[]> RunAsync(int acked, Task go)
        {
            while (log.AckedCount < acked)
            {
                var received = await client.ReceiveAsync(batch, LeaseSeconds);
                Assert.NotEmpty(received);
                log.Delivered(received);
                await AckAsync(client, log, received);
            }

            string[] receipts = [];
            if (endWithAck)
            {
                var received = await client.ReceiveAsync(batch, LeaseSeconds);
                Assert.NotEmpty(received);
                log.Delivered(received);
                receipts = [.. received.Select(d => d.Receipt)];
            }

            ready = true;
            await go;
            try
            {
                if (endWithAck)
                {
                    await client.AckAsync(receipts);
                }
                else
                {
                    await client.ReceiveAsync(batch, LeaseSeconds);
                }
            }
            catch (Exception e) when (e is HttpRequestException or IOException)
            {
                // The host died with the request in hand: its answer never came.
                return receipts;
            }

            Assert.Fail("A request was answered while the queue was locked.");
            return receipts;
        }
    }

    /// <summary>What the clients saw and acked, from any number of them at once.</summary>
    private sealed class ClientLog
    {
        private readonly Lock sync = new();
        private readonly List<Delivery> deliveries = [];
        private readonly Dictionary<string, Guid> messageOfReceipt = new(StringComparer.Ordinal);
        private readonly HashSet<Guid> acked = [];

        public int AckedCount
        {
            get
            {
                lock (sync)
                {
                    return acked.Count;
                }
            }
        }

        public IReadOnlyCollection<Guid> AckedIds
        {
            get
            {
                lock (sync)
                {
                    return [.. acked];
                }
            }
        }

        public IReadOnlyList<Delivery> Deliveries
        {
            get
            {
                lock (sync)
                {
                    return [.. deliveries];
                }
            }
        }

        public void Delivered(IEnumerable<Delivery> received)
        {
            lock (sync)
            {
                foreach (var delivery in received)
                {
                    deliveries.Add(delivery);
                    messageOfReceipt.Add(delivery.Receipt, delivery.Id);
                }
            }
        }

        public Guid MessageOf(string receipt)
        {
            lock (sync)
            {
                return messageOfReceipt[receipt];
            }
        }

        public void Acked(IEnumerable<string> receipts)
        {
            lock (sync)
            {
                foreach (var receipt in receipts)
                {
                    acked.Add(messageOfReceipt[receipt]);
                }
            }
        }
    }
}
