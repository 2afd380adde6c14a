using System.Net;
using System.Net.Http.Json;
using Insights.IntegrationTests.Infrastructure;
using Insights.IntegrationTests.SmartLink;
using Npgsql;
using Xunit.Abstractions;

namespace Insights.IntegrationTests.Faults;

/// <summary>
/// PostgreSQL up but refusing the host's new connections: its database closed to connections (SQLSTATE 55000), the
/// password of its role rotated under it (28P01). Once its pooled connections are gone, every endpoint that needs one
/// answers 503 with Retry-After, never 500, and answers normally again once connections are accepted.
/// </summary>
/// <remarks>
/// The host runs as a login role of this test's own, owner of the test's database: a superuser would not be refused
/// by <c>ALLOW_CONNECTIONS false</c>, and rotating the shared role's password would disturb every other test.
/// </remarks>
public sealed class DatabaseRefusalTests(ITestOutputHelper output) : OwnDatabaseTests
{
    private const string Password = "first-password";
    private readonly string role = "insights_host_" + Guid.NewGuid().ToString("N")[..12];

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        try
        {
            await AdminAsync(
                $"CREATE ROLE \"{role}\" LOGIN PASSWORD '{Password}'",
                $"GRANT \"{role}\" TO CURRENT_USER",
                $"ALTER DATABASE \"{Database.Name}\" OWNER TO \"{role}\"");
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            throw new InvalidOperationException(
                "The tests' PostgreSQL role may not create roles: scripts/test.sh grants it CREATEROLE (ALTER ROLE insights CREATEROLE).", e);
        }
    }

    public override async Task DisposeAsync()
    {
        // The database goes first (the tests' role drops it as a member of its owner), then the role that owned it.
        await base.DisposeAsync();
        await AdminAsync($"DROP ROLE IF EXISTS \"{role}\"");
    }

    private static async Task AdminAsync(params string[] statements)
    {
        await using var connection = new NpgsqlConnection(await TestServices.PostgresAsync());
        await connection.OpenAsync();
        foreach (var statement in statements)
        {
            await using var command = new NpgsqlCommand(statement, connection);
            await command.ExecuteNonQueryAsync();
        }
    }

    private InsightsFactory Host()
    {
        var settings = InsightsFactory.Settings(Authority, Database);
        settings["ConnectionStrings:Insights"] = new NpgsqlConnectionStringBuilder(Database.ConnectionString) { Username = role, Password = Password }.ConnectionString;
        settings["Ingestion:Interval"] = "1.00:00:00";
        return new InsightsFactory(settings);
    }

    /// <summary>
    /// Ends the host's sessions and waits until none is left: pooled connections would go on serving, and only new
    /// ones are refused.
    /// </summary>
    private async Task EndHostSessionsAsync()
    {
        await using var connection = new NpgsqlConnection(await TestServices.PostgresAsync());
        await connection.OpenAsync();
        await using var terminate = new NpgsqlCommand(
            "SELECT count(pg_terminate_backend(pid)) FILTER (WHERE pid <> pg_backend_pid()), count(*) FROM pg_stat_activity WHERE usename = $1",
            connection);
        terminate.Parameters.Add(new NpgsqlParameter { Value = role });
        while (await SessionsLeftAsync(terminate) > 0)
        {
            await Task.Delay(20);
        }
    }

    private static async Task<long> SessionsLeftAsync(NpgsqlCommand terminate)
    {
        await using var reader = await terminate.ExecuteReaderAsync();
        await reader.ReadAsync();
        return reader.GetInt64(1);
    }

    /// <summary>What a host answers from PostgreSQL: admin reads, a provisioning, tenant reads, the queue.</summary>
    private static async Task<List<HttpResponseMessage>> AskAllAsync(HttpClient admin, QueueClient tenant, string newTenantId) =>
    [
        await admin.GetAsync("/api/v1/tenants"),
        await admin.GetAsync($"/api/v1/tenants/{tenant.TenantId}/usage"),
        await admin.PostAsJsonAsync("/api/v1/tenants", new { id = newTenantId, name = newTenantId }),
        await tenant.Http.GetAsync("/api/v1/insight-models?limit=1"),
        await tenant.Http.PostAsJsonAsync("/api/v1/smartlink/receive", new { max = 1 }),
    ];

    private async Task AssertRefusedThenRecoversAsync(string refuse, string accept)
    {
        await using var host = Host();
        using var admin = host.ClientWithToken(Authority.AdminToken());
        var tenantId = InsightsFixture.NewTenantId("refused");
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/tenants", new { id = tenantId, name = tenantId })).StatusCode);
        using var tenant = new QueueClient(null!, tenantId, host.ClientWithToken(Authority.TenantToken(tenantId)));
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/v1/tenants")).StatusCode);

        await AdminAsync(refuse);
        var refusedIds = new List<string>();
        try
        {
            await EndHostSessionsAsync();
            // Twice over: the first round may meet pooled connections the server ended; the second only refusals.
            for (var round = 0; round < 2; round++)
            {
                refusedIds.Add(InsightsFixture.NewTenantId("refused"));
                foreach (var response in await AskAllAsync(admin, tenant, refusedIds[^1]))
                {
                    var problem = await Problem.AssertAsync(response, HttpStatusCode.ServiceUnavailable);
                    Assert.NotNull(response.Headers.RetryAfter);
                    Assert.Contains("database", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
                }
            }

            using var probes = host.CreateClient();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await probes.GetAsync("/health/ready")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await probes.GetAsync("/health/live")).StatusCode);
        }
        finally
        {
            await AdminAsync(accept);
        }

        // A cap for a host that never recovers, not a speed limit.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var statuses = (await AskAllAsync(admin, tenant, InsightsFixture.NewTenantId("after"))).Select(r => r.StatusCode).ToList();
            if (statuses.All(s => s is HttpStatusCode.OK or HttpStatusCode.Created))
            {
                break;
            }

            Assert.All(statuses, s => Assert.Contains(s, new[] { HttpStatusCode.OK, HttpStatusCode.Created, HttpStatusCode.ServiceUnavailable }));
            Assert.True(DateTime.UtcNow < deadline, $"The host did not answer normally again: {string.Join(", ", statuses)}");
            await Task.Delay(50);
        }

        // Nothing asked for while connections were refused was done.
        foreach (var id in refusedIds)
        {
            await Problem.AssertAsync(await admin.GetAsync($"/api/v1/tenants/{id}"), HttpStatusCode.NotFound);
        }

        output.WriteLine("Normal answers again once PostgreSQL accepted connections.");
    }

    [Fact]
    public Task A_database_closed_to_connections_is_503_with_retry_after_until_it_opens_again() =>
        AssertRefusedThenRecoversAsync(
            $"ALTER DATABASE \"{Database.Name}\" ALLOW_CONNECTIONS false",
            $"ALTER DATABASE \"{Database.Name}\" ALLOW_CONNECTIONS true");

    [Fact]
    public Task A_password_rotated_under_the_host_is_503_with_retry_after_until_it_is_restored() =>
        AssertRefusedThenRecoversAsync(
            $"ALTER ROLE \"{role}\" PASSWORD 'rotated-password'",
            $"ALTER ROLE \"{role}\" PASSWORD '{Password}'");
}
