using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Insights.IntegrationTests.Infrastructure;
using Insights.IntegrationTests.SmartLink;
using static Insights.IntegrationTests.OnlineInsights.OnlineInsightsFixture;

namespace Insights.IntegrationTests.OnlineInsights;

/// <summary>Online insights across hosts of their own on the real RabbitMQ: an api without a worker, and api and worker apart.</summary>
public sealed class OnlineInsightsHostTests : IAsyncLifetime
{
    private TestAuthority authority = null!;
    private TestDatabase database = null!;
    private TestVirtualHost virtualHost = null!;

    public async Task InitializeAsync()
    {
        authority = await TestAuthority.StartAsync();
        database = await TestDatabase.CreateAsync();
        virtualHost = await TestVirtualHost.CreateAsync();
    }

    public async Task DisposeAsync()
    {
        await virtualHost.DisposeAsync();
        await database.DisposeAsync();
        await authority.DisposeAsync();
    }

    private InsightsFactory Host(string roles, string? timeout = null)
    {
        var settings = InsightsFactory.Settings(authority, database, virtualHost);
        settings["Roles"] = roles;
        settings["Ingestion:Interval"] = "1.00:00:00";
        if (timeout is not null)
        {
            settings["OnlineInsights:Timeout"] = timeout;
        }

        return new InsightsFactory(settings);
    }

    private async Task<string> TenantWithModelsAsync(HttpClient admin)
    {
        await DefineAsync(admin);
        var id = InsightsFixture.NewTenantId("onh");
        (await admin.PostAsJsonAsync("/api/v1/tenants", new { id, name = id })).EnsureSuccessStatusCode();
        await StoredModels.StoreAsync(database.ConnectionString, id, OnlineScenario.Models(id));
        return id;
    }

    [Fact]
    public async Task Online_insight_is_504_when_no_worker_answers_in_time()
    {
        await using var api = Host("api", timeout: "00:00:00.500");
        using var admin = api.ClientWithToken(authority.AdminToken());
        var id = await TenantWithModelsAsync(admin);
        using var client = api.ClientWithToken(authority.TenantToken(id));

        var watch = Stopwatch.StartNew();
        var problem = await Problem.AssertAsync(await OnlineScenario.AskAsync(client, new { insight = Stored, key = "k1" }), HttpStatusCode.GatewayTimeout);

        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(5));
        Assert.Contains("0.5 s", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Api_and_worker_in_separate_hosts_answer_over_rabbitmq_by_http_and_by_queue()
    {
        await using var worker = Host("worker");
        worker.CreateClient().Dispose();
        await using var api = Host("api");
        using var admin = api.ClientWithToken(authority.AdminToken());
        var id = await TenantWithModelsAsync(admin);
        using var http = api.ClientWithToken(authority.TenantToken(id));

        var answer = await OnlineScenario.OkAsync(http, new { insight = Stored, key = "k1", filter = "filial=01", dateFrom = "2026-11-10", dateTo = "2026-11-20" });
        Assert.Equal(3, answer.GetProperty("version").GetInt64());
        Assert.Equal("store", answer.GetProperty("source").GetString());
        await Problem.AssertAsync(await OnlineScenario.AskAsync(http, new { insight = Stored, key = "nope" }), HttpStatusCode.NotFound);

        using var queue = new QueueClient(null!, id, api.ClientWithToken(authority.TenantToken(id)));
        var sent = await queue.Http.PostAsJsonAsync("/api/v1/smartlink/messages", new { type = "OnlineInsightRequest", data = new { insight = Stored, key = "k2" } });
        Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
        var requestId = (await sent.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var response = Assert.Single(await OnlineScenario.ReceiveAsync(queue));
        Assert.Equal("OnlineInsightResponse", response.Message.GetProperty("type").GetString());
        Assert.Equal("high", response.Message.GetProperty("priority").GetString());
        Assert.Equal(requestId, response.Message.GetProperty("data").GetProperty("requestId").GetGuid());
        Assert.Equal("ok", response.Message.GetProperty("data").GetProperty("status").GetString());
        Assert.Equal(2, response.Message.GetProperty("data").GetProperty("version").GetInt64());

        // A request the worker fails on comes back as a fault through the same reply path: a 502 problem.
        await StoredModels.BreakAsync(database.ConnectionString, id);
        await Problem.AssertAsync(await OnlineScenario.AskAsync(http, new { insight = Stored, key = "k1" }), HttpStatusCode.BadGateway);
    }
}
