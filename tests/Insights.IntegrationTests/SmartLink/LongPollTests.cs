using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Insights.Database;
using Insights.IntegrationTests.Infrastructure;
using Insights.SmartLink;
using Insights.Tenancy;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Insights.IntegrationTests.SmartLink;

/// <summary>
/// A client waiting on an empty queue costs one statement when its long poll starts and none while it waits; an enqueue
/// on another node wakes it, and so does the expiry of a lease it learnt of. The statements are counted from Npgsql's
/// tracing, on the pools of the waiting node alone (its connections carry an application name of their own).
/// </summary>
public sealed class LongPollTests(ITestOutputHelper output) : OwnDatabaseTests
{
    private const string WaitingNode = "insights-waiting";

    private InsightsFactory Host(string? applicationName = null)
    {
        var settings = InsightsFactory.Settings(Authority, Database);
        settings["Roles"] = "api";
        if (applicationName is not null)
        {
            settings["ConnectionStrings:Insights"] = Database.ConnectionString + ";Application Name=" + applicationName;
        }

        return new InsightsFactory(settings);
    }

    /// <summary>Counts the statements naming <paramref name="schema"/> that ran on the waiting node's pools.</summary>
    private static ActivityListener CountStatements(SchemaName schema, ConcurrentQueue<string> statements)
    {
        var quoted = schema.Quoted;
        var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Npgsql",
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = activity =>
            {
                if (activity.GetTagItem("db.npgsql.data_source") is string pool && pool.StartsWith(WaitingNode + "-", StringComparison.Ordinal)
                    && activity.GetTagItem("db.query.text") is string text && text.Contains(quoted, StringComparison.Ordinal))
                {
                    statements.Enqueue(text);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }

    /// <summary>
    /// A waiting node and another one on one tenant, the waiting node listening; the statements naming the tenant's
    /// schema on the waiting node's pools are counted from here on.
    /// </summary>
    private async Task<TwoNodes> TwoNodesAsync()
    {
        var waiting = Host(WaitingNode);
        var other = Host();
        using var admin = other.ClientWithToken(Authority.AdminToken());
        var tenantId = InsightsFixture.NewTenantId("lp");
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/tenants", new { id = tenantId, name = tenantId })).StatusCode);
        await waiting.Services.GetRequiredService<QueueSignals>().Listening;
        var statements = new ConcurrentQueue<string>();
        return new TwoNodes(waiting, other, tenantId, statements, CountStatements(SchemaName.ForTenant(tenantId), statements), waiting.ClientWithToken(Authority.TenantToken(tenantId)));
    }

    private sealed record TwoNodes(
        InsightsFactory Waiting, InsightsFactory Other, string TenantId, ConcurrentQueue<string> Statements, ActivityListener Listener, HttpClient Client)
        : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            Listener.Dispose();
            await Other.DisposeAsync();
            await Waiting.DisposeAsync();
        }
    }

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, what);
            await Task.Delay(20);
        }
    }

    private static async Task<List<JsonElement>> MessagesAsync(Task<HttpResponseMessage> response)
    {
        var answered = await response;
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        return (await answered.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("messages").EnumerateArray().Select(m => m.Clone()).ToList();
    }

    [Fact]
    public async Task A_waiting_client_costs_no_statement_until_an_enqueue_on_another_node_wakes_it()
    {
        await using var nodes = await TwoNodesAsync();
        var (other, tenantId, statements, client) = (nodes.Other, nodes.TenantId, nodes.Statements, nodes.Client);
        var clock = Stopwatch.StartNew();
        var poll = client.PostAsJsonAsync("/api/v1/smartlink/receive", new { waitSeconds = 20 });
        await WaitForAsync(() => !statements.IsEmpty, "The long poll never looked at its queue.");

        // Waiting: a while with no statement at all (a slow machine can only make this see fewer).
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.False(poll.IsCompleted);
        Assert.Single(statements);

        // An enqueue on the other node: its notification is the only thing that can end this wait before its 20 s.
        var tenant = (await other.Services.GetRequiredService<TenantDirectory>().FindAsync(tenantId, CancellationToken.None))!;
        var message = OutgoingMessage.Create("InsightModel", MessagePriority.Normal, JsonSerializer.Serialize(new { text = "wake up" }));
        var enqueuedAt = clock.Elapsed;
        await other.Services.GetRequiredService<QueueWriter>().EnqueueAsync(other.Services.GetRequiredService<TenantDatabases>(), tenant, [message], CancellationToken.None);
        var delivered = await MessagesAsync(poll);
        output.WriteLine($"Delivered {(clock.Elapsed - enqueuedAt).TotalMilliseconds:0} ms after the enqueue on the other node; {statements.Count} statements in all.");
        Assert.Equal(message.Id, Assert.Single(delivered).GetProperty("message").GetProperty("id").GetGuid());
        Assert.Equal(2, statements.Count);
    }

    [Fact]
    public async Task A_waiting_client_wakes_when_a_lease_it_learnt_of_expires_and_asks_nothing_in_between()
    {
        await using var waiting = Host(WaitingNode);
        using var admin = waiting.ClientWithToken(Authority.AdminToken());
        var tenantId = InsightsFixture.NewTenantId("lp");
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/tenants", new { id = tenantId, name = tenantId })).StatusCode);
        var tenant = (await waiting.Services.GetRequiredService<TenantDirectory>().FindAsync(tenantId, CancellationToken.None))!;
        var message = OutgoingMessage.Create("InsightModel", MessagePriority.Normal, JsonSerializer.Serialize(new { text = "leased, never acked" }));
        await waiting.Services.GetRequiredService<QueueWriter>().EnqueueAsync(waiting.Services.GetRequiredService<TenantDatabases>(), tenant, [message], CancellationToken.None);
        using var client = waiting.ClientWithToken(Authority.TenantToken(tenantId));
        Assert.Single(await MessagesAsync(client.PostAsJsonAsync("/api/v1/smartlink/receive", new { visibilityTimeoutSeconds = 3 })));

        var statements = new ConcurrentQueue<string>();
        using var listener = CountStatements(SchemaName.ForTenant(tenantId), statements);
        var redelivered = await MessagesAsync(client.PostAsJsonAsync("/api/v1/smartlink/receive", new { waitSeconds = 20 }));

        // One look at the start (nothing visible; the lease expires in 3 s), one when it expired.
        var again = Assert.Single(redelivered);
        Assert.Equal(message.Id, again.GetProperty("message").GetProperty("id").GetGuid());
        Assert.Equal(2, again.GetProperty("deliveryCount").GetInt32());
        Assert.Equal(2, statements.Count);
    }

    [Fact]
    public async Task Long_polls_after_a_receive_found_the_queue_empty_cost_no_statement_until_a_message_is_enqueued_or_becomes_visible()
    {
        await using var nodes = await TwoNodesAsync();
        var (other, tenantId, statements, client) = (nodes.Other, nodes.TenantId, nodes.Statements, nodes.Client);

        // One look finds the queue empty; the long polls after it ask nothing.
        Assert.Empty(await MessagesAsync(client.PostAsJsonAsync("/api/v1/smartlink/receive", new { waitSeconds = 0 })));
        Assert.Single(statements);
        for (var i = 0; i < 3; i++)
        {
            Assert.Empty(await MessagesAsync(client.PostAsJsonAsync("/api/v1/smartlink/receive", new { waitSeconds = 1 })));
        }

        Assert.Single(statements);

        // An enqueue on the other node wakes the next one, which leases it.
        var poll = client.PostAsJsonAsync("/api/v1/smartlink/receive", new { waitSeconds = 20, visibilityTimeoutSeconds = 2 });
        var tenant = (await other.Services.GetRequiredService<TenantDirectory>().FindAsync(tenantId, CancellationToken.None))!;
        var message = OutgoingMessage.Create("InsightModel", MessagePriority.Normal, JsonSerializer.Serialize(new { text = "wake up" }));
        await other.Services.GetRequiredService<QueueWriter>().EnqueueAsync(other.Services.GetRequiredService<TenantDatabases>(), tenant, [message], CancellationToken.None);
        Assert.Equal(message.Id, Assert.Single(await MessagesAsync(poll)).GetProperty("message").GetProperty("id").GetGuid());

        // Leased for 2 s and never acked: a receive finds nothing visible and learns when the lease expires; the long poll
        // after it starts without a statement (unless the lease expired already) and gets the message again when it does.
        Assert.Empty(await MessagesAsync(client.PostAsJsonAsync("/api/v1/smartlink/receive", new { waitSeconds = 0 })));
        var before = statements.Count;
        var again = Assert.Single(await MessagesAsync(client.PostAsJsonAsync("/api/v1/smartlink/receive", new { waitSeconds = 20 })));
        Assert.Equal(message.Id, again.GetProperty("message").GetProperty("id").GetGuid());
        Assert.Equal(2, again.GetProperty("deliveryCount").GetInt32());
        Assert.InRange(statements.Count - before, 1, 2);

        // A receive that does not wait always looks: it sees what was enqueued before it on any node.
        Assert.Empty(await MessagesAsync(client.PostAsJsonAsync("/api/v1/smartlink/receive", new { waitSeconds = 0 })));
        var second = OutgoingMessage.Create("InsightModel", MessagePriority.Normal, JsonSerializer.Serialize(new { text = "right away" }));
        await other.Services.GetRequiredService<QueueWriter>().EnqueueAsync(other.Services.GetRequiredService<TenantDatabases>(), tenant, [second], CancellationToken.None);
        Assert.Equal(second.Id, Assert.Single(await MessagesAsync(client.PostAsJsonAsync("/api/v1/smartlink/receive", new { waitSeconds = 0 }))).GetProperty("message").GetProperty("id").GetGuid());
    }

    [Fact]
    public async Task A_lease_cut_shorter_on_another_node_wakes_a_long_poll_that_knew_the_longer_one()
    {
        await using var nodes = await TwoNodesAsync();
        var (other, tenantId, client) = (nodes.Other, nodes.TenantId, nodes.Client);
        var tenant = (await other.Services.GetRequiredService<TenantDirectory>().FindAsync(tenantId, CancellationToken.None))!;
        var message = OutgoingMessage.Create("InsightModel", MessagePriority.Normal, JsonSerializer.Serialize(new { text = "leased for an hour" }));
        await other.Services.GetRequiredService<QueueWriter>().EnqueueAsync(other.Services.GetRequiredService<TenantDatabases>(), tenant, [message], CancellationToken.None);
        var leased = Assert.Single(await MessagesAsync(client.PostAsJsonAsync("/api/v1/smartlink/receive", new { waitSeconds = 20, visibilityTimeoutSeconds = 3600 })));

        // The waiting node learns that nothing is visible for an hour; the lease is then cut to a second through the other.
        Assert.Empty(await MessagesAsync(client.PostAsJsonAsync("/api/v1/smartlink/receive", new { waitSeconds = 0 })));
        var poll = client.PostAsJsonAsync("/api/v1/smartlink/receive", new { waitSeconds = 20 });
        using (var onOther = other.ClientWithToken(Authority.TenantToken(tenantId)))
        {
            var cut = await onOther.PostAsJsonAsync("/api/v1/smartlink/lease", new { receipts = new[] { leased.GetProperty("receipt").GetString() }, visibilityTimeoutSeconds = 1 });
            Assert.Equal(HttpStatusCode.OK, cut.StatusCode);
        }

        var again = Assert.Single(await MessagesAsync(poll));
        Assert.Equal(message.Id, again.GetProperty("message").GetProperty("id").GetGuid());
        Assert.Equal(2, again.GetProperty("deliveryCount").GetInt32());
    }

    [Fact]
    public async Task A_long_poll_that_nothing_wakes_answers_empty_at_its_end_without_looking_again()
    {
        await using var waiting = Host(WaitingNode);
        using var admin = waiting.ClientWithToken(Authority.AdminToken());
        var tenantId = InsightsFixture.NewTenantId("lp");
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/tenants", new { id = tenantId, name = tenantId })).StatusCode);
        var statements = new ConcurrentQueue<string>();
        using var listener = CountStatements(SchemaName.ForTenant(tenantId), statements);
        using var client = waiting.ClientWithToken(Authority.TenantToken(tenantId));

        Assert.Empty(await MessagesAsync(client.PostAsJsonAsync("/api/v1/smartlink/receive", new { waitSeconds = 1 })));
        Assert.Single(statements);
    }
}
