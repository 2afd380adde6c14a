using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Insights.IntegrationTests.Infrastructure;
using Insights.IntegrationTests.SmartLink;
using Npgsql;
using Xunit.Abstractions;

namespace Insights.IntegrationTests.Faults;

/// <summary>
/// PostgreSQL taken away from a host (through a proxy of the test's own) or its connections terminated by the server:
/// every endpoint that needs it answers 503 with Retry-After meanwhile, and answers normally within seconds after.
/// </summary>
public sealed class DatabaseOutageTests(ITestOutputHelper output) : OwnDatabaseTests
{
    private TcpProxy database = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        var target = new NpgsqlConnectionStringBuilder(Database.ConnectionString);
        database = TcpProxy.Start(target.Host!, target.Port);
    }

    public override async Task DisposeAsync()
    {
        await database.DisposeAsync();
        await base.DisposeAsync();
    }

    private InsightsFactory Host()
    {
        var settings = InsightsFactory.Settings(Authority, Database);
        settings["ConnectionStrings:Insights"] = new NpgsqlConnectionStringBuilder(Database.ConnectionString) { Host = "127.0.0.1", Port = database.Port }.ConnectionString;
        settings["Ingestion:Interval"] = "1.00:00:00";
        return new InsightsFactory(settings);
    }

    /// <summary>Every kind of request the host answers from PostgreSQL: admin reads, tenant reads, the queue.</summary>
    private static async Task<List<HttpStatusCode>> AskAllAsync(HttpClient admin, QueueClient tenant)
    {
        var answers = new List<HttpResponseMessage>
        {
            await admin.GetAsync("/api/v1/tenants"),
            await admin.GetAsync($"/api/v1/tenants/{tenant.TenantId}/usage"),
            await tenant.Http.GetAsync("/api/v1/insight-models?limit=1"),
            await tenant.Http.PostAsJsonAsync("/api/v1/smartlink/receive", new { max = 1 }),
        };
        return [.. answers.Select(a => a.StatusCode)];
    }

    private static async Task<TimeSpan> UntilNormalAsync(HttpClient admin, QueueClient tenant)
    {
        var back = Stopwatch.StartNew();
        while (true)
        {
            var statuses = await AskAllAsync(admin, tenant);
            if (statuses.All(s => s == HttpStatusCode.OK))
            {
                return back.Elapsed;
            }

            Assert.All(statuses, s => Assert.Contains(s, new[] { HttpStatusCode.OK, HttpStatusCode.ServiceUnavailable }));
            Assert.True(back.Elapsed < TimeSpan.FromSeconds(30), $"The host did not answer normally again: {string.Join(", ", statuses)}");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task While_PostgreSQL_is_unreachable_every_endpoint_answers_503_with_retry_after_and_normally_within_seconds_of_its_return()
    {
        await using var host = Host();
        using var admin = host.ClientWithToken(Authority.AdminToken());
        var tenantId = InsightsFixture.NewTenantId("pg");
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/tenants", new { id = tenantId, name = tenantId })).StatusCode);
        using var tenant = new QueueClient(null!, tenantId, host.ClientWithToken(Authority.TenantToken(tenantId)));
        Assert.All(await AskAllAsync(admin, tenant), s => Assert.Equal(HttpStatusCode.OK, s));

        database.Cut();
        foreach (var response in new[]
        {
            await admin.GetAsync("/api/v1/tenants"),
            await admin.GetAsync($"/api/v1/tenants/{tenantId}/usage"),
            await tenant.Http.GetAsync("/api/v1/insight-models?limit=1"),
            await tenant.Http.PostAsJsonAsync("/api/v1/smartlink/receive", new { max = 1 }),
            await admin.PostAsJsonAsync("/api/v1/tenants", new { id = InsightsFixture.NewTenantId("pg"), name = "during the outage" }),
        })
        {
            var problem = await Problem.AssertAsync(response, HttpStatusCode.ServiceUnavailable);
            Assert.NotNull(response.Headers.RetryAfter);
            Assert.Contains("database", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        using var probes = host.CreateClient();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await probes.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await probes.GetAsync("/health/live")).StatusCode);

        database.Restore();
        var elapsed = await UntilNormalAsync(admin, tenant);
        output.WriteLine($"Normal answers {elapsed.TotalSeconds:0.00} s after PostgreSQL returned.");
        Assert.True(elapsed < TimeSpan.FromSeconds(5), $"Normal answers only {elapsed.TotalSeconds:0.0} s after PostgreSQL returned.");
        Assert.Equal(HttpStatusCode.OK, (await probes.GetAsync("/health/ready")).StatusCode);
    }

    [Fact]
    public async Task Provisioning_on_a_store_that_cannot_be_reached_is_503_with_retry_after_and_completes_when_posted_again()
    {
        var store2 = await Store2Async();
        var target = new NpgsqlConnectionStringBuilder(store2.ConnectionString);
        await using var storeLink = TcpProxy.Start(target.Host!, target.Port);
        var settings = InsightsFactory.Settings(Authority, Database);
        settings["Stores:" + InsightsFixture.SecondStore] = new NpgsqlConnectionStringBuilder(store2.ConnectionString) { Host = "127.0.0.1", Port = storeLink.Port }.ConnectionString;
        settings["Ingestion:Interval"] = "1.00:00:00";
        await using var host = new InsightsFactory(settings);
        using var admin = host.ClientWithToken(Authority.AdminToken());
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/v1/stores")).StatusCode);

        storeLink.Cut();
        var tenantId = InsightsFixture.NewTenantId("store");
        var create = new { id = tenantId, name = tenantId, store = InsightsFixture.SecondStore };
        var refused = await admin.PostAsJsonAsync("/api/v1/tenants", create);
        await Problem.AssertAsync(refused, HttpStatusCode.ServiceUnavailable);
        Assert.NotNull(refused.Headers.RetryAfter);
        // The catalog row stays 'failed', so that posting it again resumes the provisioning.
        var failed = await admin.GetFromJsonAsync<System.Text.Json.JsonElement>($"/api/v1/tenants/{tenantId}");
        Assert.Equal("failed", failed.GetProperty("status").GetString());

        storeLink.Restore();
        var created = await admin.PostAsJsonAsync("/api/v1/tenants", create);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var tenant = await admin.GetFromJsonAsync<System.Text.Json.JsonElement>($"/api/v1/tenants/{tenantId}");
        Assert.Equal("active", tenant.GetProperty("status").GetString());
        Assert.Equal(InsightsFixture.SecondStore, tenant.GetProperty("store").GetString());
    }

    [Fact]
    public async Task Connections_the_server_terminates_cost_at_most_one_failed_request_and_the_host_recovers_within_seconds()
    {
        await using var host = Host();
        using var admin = host.ClientWithToken(Authority.AdminToken());
        var tenantId = InsightsFixture.NewTenantId("pg");
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/tenants", new { id = tenantId, name = tenantId })).StatusCode);
        using var tenant = new QueueClient(null!, tenantId, host.ClientWithToken(Authority.TenantToken(tenantId)));
        // Several pooled connections, all of which the server is about to end.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => AskAllAsync(admin, tenant)));

        await using (var server = new NpgsqlConnection(await TestServices.PostgresAsync()))
        {
            await server.OpenAsync();
            await using var terminate = new NpgsqlCommand("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", server);
            terminate.Parameters.Add(new NpgsqlParameter { Value = Database.Name });
            output.WriteLine($"Terminated {await terminate.ExecuteScalarAsync()} backends.");
        }

        var elapsed = await UntilNormalAsync(admin, tenant);
        output.WriteLine($"Normal answers {elapsed.TotalSeconds:0.00} s after the backends were terminated.");
        Assert.True(elapsed < TimeSpan.FromSeconds(5), $"Normal answers only {elapsed.TotalSeconds:0.0} s after the backends were terminated.");
    }
}
