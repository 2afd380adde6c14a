using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Insights.Database;
using Insights.IntegrationTests.Infrastructure;
using Insights.SmartLink;
using Insights.Tenancy;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;

namespace Insights.IntegrationTests.SmartLink;

/// <summary>
/// The purge of acked messages visits only the tenants that acked something now past the retention, known from the
/// markers the acks leave in the catalog (once per tenant, day and node), never by looking into every schema.
/// </summary>
public sealed class QueuePurgeTests : OwnDatabaseTests
{
    /// <summary>The clock of the nodes' ack markers: a test moves it to ack "on another day".</summary>
    private readonly TestClock clock = new();

    /// <summary>An api node (no worker: the purge runs only when a test says so) whose ack markers read <see cref="clock"/>.</summary>
    private InsightsFactory Node()
    {
        var settings = InsightsFactory.Settings(Authority, Database);
        settings["Roles"] = "api";
        settings["SmartLink:AckedRetention"] = "1.00:00:00";
        return new InsightsFactory(settings, services: s =>
        {
            s.RemoveAll<QueueAckMarks>();
            s.AddSingleton(new QueueAckMarks(clock));
        });
    }

    private async Task<string> ProvisionAsync(InsightsFactory node)
    {
        var id = InsightsFixture.NewTenantId("pg");
        using var admin = node.ClientWithToken(Authority.AdminToken());
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/tenants", new { id, name = id })).StatusCode);
        return id;
    }

    private static async Task EnqueueAsync(InsightsFactory node, string tenantId, int count)
    {
        var tenant = (await node.Services.GetRequiredService<TenantDirectory>().FindAsync(tenantId, CancellationToken.None))!;
        var messages = Enumerable.Range(1, count)
            .Select(i => OutgoingMessage.Create("InsightModel", MessagePriority.Normal, JsonSerializer.Serialize(new { text = "m" + i })))
            .ToList();
        await node.Services.GetRequiredService<QueueWriter>().EnqueueAsync(node.Services.GetRequiredService<TenantDatabases>(), tenant, messages, CancellationToken.None);
    }

    private static async Task<List<(Guid Id, string Receipt)>> ReceiveAsync(HttpClient client)
    {
        var response = await client.PostAsJsonAsync("/api/v1/smartlink/receive", new { max = 10, visibilityTimeoutSeconds = 300 });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return [.. body.GetProperty("messages").EnumerateArray()
            .Select(m => (m.GetProperty("message").GetProperty("id").GetGuid(), m.GetProperty("receipt").GetString()!))];
    }

    private static async Task<int> AckAsync(HttpClient client, params string[] receipts)
    {
        var response = await client.PostAsJsonAsync("/api/v1/smartlink/ack", new { receipts });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("acked").GetInt32();
    }

    /// <summary>Enqueues <paramref name="count"/> messages for the tenant, receives and acks them all.</summary>
    private async Task ReceiveAndAckAsync(InsightsFactory node, string tenantId, int count)
    {
        await EnqueueAsync(node, tenantId, count);
        using var client = node.ClientWithToken(Authority.TenantToken(tenantId));
        var received = await ReceiveAsync(client);
        Assert.Equal(count, received.Count);
        Assert.Equal(count, await AckAsync(client, [.. received.Select(r => r.Receipt)]));
    }

    private async Task<T> ScalarAsync<T>(string sql, params object[] parameters)
    {
        await using var dataSource = Database.CreateDataSource();
        await using var command = dataSource.CreateCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }

    private Task<long> CountAsync(string tenantId, string status) =>
        ScalarAsync<long>($"SELECT count(*) FROM {SchemaName.ForTenant(tenantId).Quoted}.queue_messages WHERE status = $1", status);

    private async Task<List<DateOnly>> MarkersAsync(string tenantId)
    {
        await using var dataSource = Database.CreateDataSource();
        await using var command = dataSource.CreateCommand("SELECT day FROM catalog.queue_ack_days WHERE tenant_id = $1 ORDER BY day");
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        var days = new List<DateOnly>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            days.Add(reader.GetFieldValue<DateOnly>(0));
        }

        return days;
    }

    private static bool Marks(string statement) => statement.Contains("catalog.queue_ack_days", StringComparison.Ordinal);

    [Fact]
    public async Task The_purge_visits_only_the_tenants_with_acked_messages_past_the_retention()
    {
        await using var node = Node();
        var expired = await ProvisionAsync(node);
        var recent = await ProvisionAsync(node);
        var idle = await ProvisionAsync(node);

        // The client of the first tenant acked two days ago: the node's clock said so, and so do the messages.
        clock.Offset = TimeSpan.FromDays(-2);
        await ReceiveAndAckAsync(node, expired, 3);
        clock.Offset = TimeSpan.Zero;
        await ScalarAsync<int>(
            $"WITH aged AS (UPDATE {SchemaName.ForTenant(expired).Quoted}.queue_messages SET finished_at = now() - interval '2 days' WHERE status = 'acked' RETURNING 1) SELECT count(*)::int FROM aged");
        await ReceiveAndAckAsync(node, recent, 2);
        await EnqueueAsync(node, idle, 1);

        var purge = ActivatorUtilities.CreateInstance<QueuePurgeService>(node.Services);
        using var log = new StatementLog();
        await purge.PurgeOnceAsync(CancellationToken.None);

        var connections = node.Services.GetRequiredService<TenantDatabases>();
        var lane = TenantDatabases.LaneName("insights", connections.LaneOf(SchemaName.ForTenant(expired)));
        var visits = log.Naming(SchemaName.ForTenant(expired));
        Assert.NotEmpty(visits);
        Assert.All(visits, statement => Assert.Equal(lane, statement.DataSource));
        Assert.Empty(log.Naming(SchemaName.ForTenant(recent)));
        Assert.Empty(log.Naming(SchemaName.ForTenant(idle)));
        Assert.Equal(0, await CountAsync(expired, "acked"));
        Assert.Equal(2, await CountAsync(recent, "acked"));
        Assert.Equal(1, await CountAsync(idle, "ready"));

        // Nothing acked is left to the tenant that was visited: it is not due again before a whole retention.
        log.Clear();
        await purge.PurgeOnceAsync(CancellationToken.None);
        Assert.All(new[] { expired, recent, idle }, tenant => Assert.Empty(log.Naming(SchemaName.ForTenant(tenant))));
    }

    [Fact]
    public async Task A_visit_forgets_the_days_wholly_past_the_retention_and_comes_back_when_the_oldest_ack_left_is_due()
    {
        await using var node = Node();
        var tenantId = await ProvisionAsync(node);
        var table = SchemaName.ForTenant(tenantId).Quoted + ".queue_messages";
        clock.Offset = TimeSpan.FromDays(-5);
        await ReceiveAndAckAsync(node, tenantId, 1);
        clock.Offset = TimeSpan.Zero;
        await ScalarAsync<int>($"WITH aged AS (UPDATE {table} SET finished_at = now() - interval '5 days' WHERE status = 'acked' RETURNING 1) SELECT count(*)::int FROM aged");
        await ReceiveAndAckAsync(node, tenantId, 1);
        Assert.Equal(2, (await MarkersAsync(tenantId)).Count);

        await ActivatorUtilities.CreateInstance<QueuePurgeService>(node.Services).PurgeOnceAsync(CancellationToken.None);

        Assert.Equal(1, await CountAsync(tenantId, "acked"));
        Assert.Single(await MarkersAsync(tenantId));
        Assert.True(await ScalarAsync<bool>(
            $"SELECT due_at = (SELECT finished_at FROM {table} WHERE status = 'acked') + interval '1 day' FROM catalog.queue_ack_days WHERE tenant_id = $1",
            tenantId));
    }

    [Fact]
    public async Task An_ack_marks_its_tenant_in_the_catalog_once_a_day_on_each_node_before_acking_on_the_store()
    {
        await using var node = Node();
        var tenantId = await ProvisionAsync(node);
        var schema = SchemaName.ForTenant(tenantId);
        await EnqueueAsync(node, tenantId, 8);
        using var client = node.ClientWithToken(Authority.TenantToken(tenantId));
        var received = await ReceiveAsync(client);
        Assert.Equal(8, received.Count);
        using var log = new StatementLog();
        var marks = node.Services.GetRequiredService<QueueAckMarks>();
        var before = marks.Today;

        // The day's first ack marks the tenant first, in the catalog, whatever it then acks: a receipt of another
        // delivery acks nothing, and the purge's visit of that marker will find nothing.
        Assert.Equal(0, await AckAsync(client, new Receipt(received[0].Id, Guid.NewGuid()).ToString()));
        var today = Assert.Single(await MarkersAsync(tenantId));
        Assert.Contains(today, new[] { before, marks.Today });
        Assert.False(marks.NeedsMark(tenantId, today));

        log.Clear();
        foreach (var (_, receipt) in received.Take(3))
        {
            Assert.Equal(1, await AckAsync(client, receipt));
        }

        // One statement per ack, on the tenant's store alone; the marker of the day is there already.
        var acks = log.Naming(schema);
        Assert.Equal(3, acks.Count);
        Assert.DoesNotContain(acks, statement => Marks(statement.Text));
        Assert.Equal([today], await MarkersAsync(tenantId));

        // The node's next day starts with a new marker.
        clock.Offset = TimeSpan.FromDays(1);
        foreach (var (_, receipt) in received.Skip(3).Take(2))
        {
            Assert.Equal(1, await AckAsync(client, receipt));
        }

        Assert.Equal([today, today.AddDays(1)], await MarkersAsync(tenantId));

        // Another node marks for itself once; the day's marker is there already.
        await using var other = Node();
        using var otherClient = other.ClientWithToken(Authority.TenantToken(tenantId));
        foreach (var (_, receipt) in received.Skip(5))
        {
            Assert.Equal(1, await AckAsync(otherClient, receipt));
        }

        Assert.False(other.Services.GetRequiredService<QueueAckMarks>().NeedsMark(tenantId, today.AddDays(1)));
        Assert.Equal([today, today.AddDays(1)], await MarkersAsync(tenantId));

        // Deleting the tenant deletes its markers.
        using var admin = node.ClientWithToken(Authority.AdminToken());
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/tenants/{tenantId}")).StatusCode);
        Assert.Empty(await MarkersAsync(tenantId));
    }
}
