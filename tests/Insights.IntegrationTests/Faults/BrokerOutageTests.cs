using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Insights.IntegrationTests.Infrastructure;
using Insights.IntegrationTests.SmartLink;
using Insights.Tenancy;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Xunit.Abstractions;

namespace Insights.IntegrationTests.Faults;

/// <summary>
/// RabbitMQ taken away from the hosts (every connection dropped, new ones refused, through a proxy of the test's own)
/// and given back: nothing blocks, nothing is lost, and the service is whole again within seconds.
/// </summary>
public sealed class BrokerOutageTests(ITestOutputHelper output) : OwnDatabaseTests
{
    private TestVirtualHost virtualHost = null!;
    private TcpProxy broker = null!;
    private string sourceFolder = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        virtualHost = await TestVirtualHost.CreateAsync();
        broker = TcpProxy.Start(virtualHost.Amqp.Host, virtualHost.Amqp.Port);
        sourceFolder = Directory.CreateTempSubdirectory("insights-outage-").FullName;
    }

    public override async Task DisposeAsync()
    {
        await broker.DisposeAsync();
        await virtualHost.DisposeAsync();
        Directory.Delete(sourceFolder, recursive: true);
        await base.DisposeAsync();
    }

    private InsightsFactory Host(string roles = "api,worker,scheduler", TcpProxy? through = null)
    {
        var settings = InsightsFactory.Settings(Authority, Database, virtualHost);
        settings["Bus:RabbitMq:Host"] = "127.0.0.1";
        settings["Bus:RabbitMq:Port"] = (through ?? broker).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Roles"] = roles;
        settings["Ingestion:Interval"] = "1.00:00:00";
        settings["Ingestion:Local:Folder"] = sourceFolder;
        settings["OnlineInsights:Timeout"] = "00:00:10";
        return new InsightsFactory(settings);
    }

    private static async Task<JsonElement> ReadyAsync(HttpClient client, Func<HttpStatusCode, JsonElement, bool> until)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var response = await client.GetAsync("/health/ready");
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            if (until(response.StatusCode, body))
            {
                return body;
            }

            Assert.True(DateTime.UtcNow < deadline, $"Readiness never reached the expected state; last {(int)response.StatusCode}: {body}");
            await Task.Delay(50);
        }
    }

    private static string BusStatus(JsonElement readiness) => readiness.GetProperty("checks").GetProperty("bus").GetProperty("status").GetString()!;

    private static Task<JsonElement> BusConnectedAsync(HttpClient client) =>
        ReadyAsync(client, (status, body) => status == HttpStatusCode.OK && BusStatus(body) == "Healthy");

    private async Task<long> OutboxCountAsync(string? messageType = null)
    {
        await using var connection = new NpgsqlConnection(Database.ConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM catalog.outbox WHERE $1::text IS NULL OR message_type = $1", connection)
        {
            Parameters = { new() { Value = (object?)messageType ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text } },
        };
        return (long)(await count.ExecuteScalarAsync())!;
    }

    private async Task OutboxEmptiedAsync(string? messageType, string failure)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await OutboxCountAsync(messageType) > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task A_node_starts_without_its_broker_serves_what_needs_only_PostgreSQL_and_catches_up_when_the_broker_returns()
    {
        broker.Cut();
        await using var host = Host();
        using var admin = host.ClientWithToken(Authority.AdminToken());

        // Started and ready: the api still serves, and says what it cannot do.
        var readiness = await ReadyAsync(admin, (status, _) => status == HttpStatusCode.OK);
        Assert.Equal("Degraded", BusStatus(readiness));
        Assert.Contains("503", readiness.GetProperty("checks").GetProperty("bus").GetProperty("description").GetString(), StringComparison.Ordinal);

        // Provisioning, definitions, the SmartLink client API and triggers need only PostgreSQL.
        var tenantId = InsightsFixture.NewTenantId("out");
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/tenants", new { id = tenantId, name = tenantId })).StatusCode);
        (await admin.PutAsJsonAsync("/api/v1/insight-definitions/CashFlowForecast", new { module = "SIGAFIN", priority = "normal", online = true })).EnsureSuccessStatusCode();
        using var client = new QueueClient(null!, tenantId, host.ClientWithToken(Authority.TenantToken(tenantId)));
        Assert.Empty(await client.ReceiveAsync());

        var trigger = await admin.PostAsync($"/api/v1/tenants/{tenantId}/ingestions", null);
        Assert.Equal(HttpStatusCode.Accepted, trigger.StatusCode);
        var runId = (await trigger.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runId").GetGuid();

        var sent = await client.Http.PostAsJsonAsync("/api/v1/smartlink/messages", new { type = "OnlineInsightRequest", data = new { insight = "CashFlowForecast", key = "k1" } });
        Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
        var requestId = (await sent.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        // Online insights answer at once that they cannot be had now, with when to try again.
        var online = await client.Http.PostAsJsonAsync("/api/v1/online-insights", new { insight = "CashFlowForecast", key = "k1" });
        var problem = await Problem.AssertAsync(online, HttpStatusCode.ServiceUnavailable);
        Assert.NotNull(online.Headers.RetryAfter);
        Assert.Contains("broker", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        // Everything that must reach a worker waits in the outbox.
        Assert.True(await OutboxCountAsync() >= 3, "The provisioning events, the command and the request wait in the outbox.");

        broker.Restore();
        var back = Stopwatch.StartNew();

        // The online answer that needs the workers comes within seconds.
        while (true)
        {
            var answer = await client.Http.PostAsJsonAsync("/api/v1/online-insights", new { insight = "CashFlowForecast", key = "k1" });
            if (answer.StatusCode != HttpStatusCode.ServiceUnavailable)
            {
                // No model is stored: the worker's answer is "none matches".
                Assert.Equal(HttpStatusCode.NotFound, answer.StatusCode);
                break;
            }

            Assert.True(back.Elapsed < TimeSpan.FromSeconds(30), "Online insights did not come back.");
            await Task.Delay(50);
        }

        output.WriteLine($"Online insights answered normally {back.Elapsed.TotalSeconds:0.0} s after the broker returned.");
        Assert.True(back.Elapsed < TimeSpan.FromSeconds(5), $"Online insights came back after {back.Elapsed.TotalSeconds:0.0} s.");

        // The command queued during the outage ran, and the queued request got its one answer.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{tenantId}/ingestions/{runId}")).GetProperty("status").GetString() != "succeeded")
        {
            Assert.True(DateTime.UtcNow < deadline, "The run queued during the outage did not complete.");
            await Task.Delay(50);
        }

        var response = Assert.Single(await client.ReceiveAsync(wait: 20));
        Assert.Equal(requestId, response.Message.GetProperty("data").GetProperty("requestId").GetGuid());
        await client.AckAsync([response.Receipt]);
        Assert.Empty(await client.ReceiveAsync(wait: 1));
        await BusConnectedAsync(admin);
        await OutboxEmptiedAsync(null, "The outbox was not emptied.");
    }

    [Fact]
    public async Task Without_its_broker_an_api_node_stays_ready_and_a_worker_is_not()
    {
        await using var api = Host("api");
        await using var worker = Host("worker");
        using var apiClient = api.CreateClient();
        using var workerClient = worker.CreateClient();
        await BusConnectedAsync(apiClient);
        await BusConnectedAsync(workerClient);

        broker.Cut();
        var apiReadiness = await ReadyAsync(apiClient, (status, body) => BusStatus(body) != "Healthy");
        var workerReadiness = await ReadyAsync(workerClient, (status, body) => BusStatus(body) != "Healthy");
        Assert.Equal("Degraded", BusStatus(apiReadiness));
        Assert.Equal(HttpStatusCode.OK, (await apiClient.GetAsync("/health/ready")).StatusCode);
        Assert.Equal("Unhealthy", BusStatus(workerReadiness));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await workerClient.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await workerClient.GetAsync("/health/live")).StatusCode);

        broker.Restore();
        await BusConnectedAsync(apiClient);
        await BusConnectedAsync(workerClient);
    }

    [Fact]
    public async Task A_tenant_change_committed_while_the_broker_is_down_reaches_every_node_when_it_returns()
    {
        // Each node reaches the broker through a proxy of its own, so the change can be published while node B is still
        // away: the event must wait in B's queue, not be lost with B's connection.
        await using var brokerB = TcpProxy.Start(virtualHost.Amqp.Host, virtualHost.Amqp.Port);
        var clock = Stopwatch.StartNew();
        await using var nodeA = Host();
        await using var nodeB = Host("api", brokerB);
        using var adminA = nodeA.ClientWithToken(Authority.AdminToken());
        using var clientB = nodeB.CreateClient();
        await BusConnectedAsync(adminA);
        await BusConnectedAsync(clientB);
        var tenantId = InsightsFixture.NewTenantId("chg");
        var heard = new ConsumedCount<TenantChanged>(changed => changed.TenantId == tenantId);
        using var observing = nodeB.Services.GetRequiredService<IBus>().ConnectConsumeMessageObserver(heard);
        Assert.Equal(HttpStatusCode.Created, (await adminA.PostAsJsonAsync("/api/v1/tenants", new { id = tenantId, name = tenantId })).StatusCode);
        // Provisioning announces the new tenant too: heard once before the outage.
        await heard.Times(1).WaitAsync(TimeSpan.FromSeconds(60));
        await OutboxEmptiedAsync(nameof(TenantChanged), "The relay did not delete the published announcement.");
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: both nodes up, the new tenant announced");

        broker.Cut();
        brokerB.Cut();
        await ReadyAsync(adminA, (_, body) => BusStatus(body) != "Healthy");
        await ReadyAsync(clientB, (_, body) => BusStatus(body) != "Healthy");
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: both nodes see the broker gone");
        var suspend = await adminA.PatchAsJsonAsync($"/api/v1/tenants/{tenantId}", new { status = "suspended" });
        Assert.Equal(HttpStatusCode.OK, suspend.StatusCode);
        var second = heard.Times(2);
        Assert.Equal(1, await OutboxCountAsync(nameof(TenantChanged)));

        // Node A comes back and publishes the change while node B is still cut off.
        broker.Restore();
        await OutboxEmptiedAsync(nameof(TenantChanged), "Node A did not relay the change after its broker came back.");
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: node A relayed the change");

        Assert.False(second.IsCompleted);
        brokerB.Restore();
        try
        {
            await second.WaitAsync(TimeSpan.FromSeconds(60));
            output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: node B heard it");
        }
        catch (TimeoutException)
        {
            var readinessB = await (await clientB.GetAsync("/health/ready")).Content.ReadAsStringAsync();
            Assert.Fail($"Node B did not hear the change within 60 s of its return. Node B: {readinessB}. Broker: {await virtualHost.DescribeAsync()}");
        }

        var seen = await nodeB.Services.GetRequiredService<TenantDirectory>().FindAsync(tenantId, CancellationToken.None);
        Assert.Equal(TenantStatus.Suspended, seen!.Status);
    }
}
