using System.Net.Http.Json;
using System.Text.Json;
using Google.Apis.Auth.OAuth2;
using Insights.BigQuery;
using Insights.Ingestion;
using Insights.IntegrationTests.Fakes;
using Insights.IntegrationTests.Infrastructure;
using Insights.IntegrationTests.SmartLink;
using Microsoft.Extensions.DependencyInjection;

namespace Insights.IntegrationTests.Ingestion;

/// <summary>Runs through the real BigQuery source and client against the fake BigQuery server.</summary>
public sealed class BigQueryIngestionTests : IAsyncLifetime
{
    private const string Table = "carol-prod.insights.insight_models";

    private TestAuthority authority = null!;
    private TestDatabase database = null!;
    private FakeBigQuery fake = null!;

    // Disposed in DisposeAsync.
    private InsightsFactory Host { get; set; } = null!;
    private HttpClient Admin { get; set; } = null!;

    public async Task InitializeAsync()
    {
        authority = await TestAuthority.StartAsync();
        database = await TestDatabase.CreateAsync();
        fake = await FakeBigQuery.StartAsync();
        var settings = InsightsFactory.Settings(authority, database);
        settings["Ingestion:Source"] = "BigQuery";
        settings["Ingestion:BigQuery:Table"] = Table;
        settings["Ingestion:Interval"] = "1.00:00:00";
        // Tenants' own runs only: a scheduler's fleet sweep would also query the fake, and could meet its scripted failures.
        settings["Roles"] = "api,worker";
        settings["BigQuery:BaseUrl"] = fake.BaseUrl;
        settings["BigQuery:ProjectId"] = "carol-prod";
        settings["BigQuery:Retry:InitialDelayMs"] = "1";
        settings["BigQuery:Retry:MaxDelayMs"] = "5";
        settings["BigQuery:Retry:MaxPollDelayMs"] = "2";
        settings["BigQuery:Retry:DeadlineSeconds"] = "10";
        Host = new InsightsFactory(settings, services: s =>
            s.AddKeyedSingleton<ITokenAccess>(BigQuerySetup.TokenAccessKey, GoogleCredential.FromAccessToken("carol-token")));
        Admin = Host.ClientWithToken(authority.AdminToken());
        (await Admin.PutAsJsonAsync("/api/v1/insight-definitions/CashFlowForecast", new { module = "SIGAFIN", priority = "normal" })).EnsureSuccessStatusCode();
    }

    public async Task DisposeAsync()
    {
        Admin.Dispose();
        await Host.DisposeAsync();
        await fake.DisposeAsync();
        await database.DisposeAsync();
        await authority.DisposeAsync();
    }

    private async Task<JsonElement> LastRunAsync(string tenantId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var page = await Admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{tenantId}/ingestions?limit=1");
            var run = page.GetProperty("items").EnumerateArray().FirstOrDefault();
            if (run.ValueKind == JsonValueKind.Object && run.GetProperty("status").GetString() is not ("queued" or "running"))
            {
                return run.Clone();
            }

            Assert.True(DateTime.UtcNow < deadline, "The run did not finish.");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task A_run_reads_bigquery_bills_the_bytes_and_fails_clearly_on_a_missing_table_or_bad_credentials()
    {
        var tenant = InsightsFixture.NewTenantId("bq");
        for (var i = 1; i <= 5; i++)
        {
            fake.Table.Add(new FakeTableRow(tenant, ScriptedSource.Model("bq-" + i, i)));
        }

        fake.Table.Add(new FakeTableRow("someone-else", ScriptedSource.Model("foreign", 1)));
        (await Admin.PostAsJsonAsync("/api/v1/tenants", new { id = tenant, name = tenant })).EnsureSuccessStatusCode();

        var first = await LastRunAsync(tenant);
        Assert.Equal("succeeded", first.GetProperty("status").GetString());
        Assert.Equal(5, first.GetProperty("rowsRead").GetInt64());
        Assert.Equal(5, first.GetProperty("messagesEnqueued").GetInt64());
        Assert.True(first.GetProperty("bytesBilled").GetInt64() > 0);
        Assert.True(first.GetProperty("estimatedCostUsd").GetDecimal() > 0);

        var query = fake.Queries[0].Json;
        Assert.Equal("Bearer carol-token", fake.Queries[0].Header("Authorization"));
        Assert.False(query.GetProperty("useLegacySql").GetBoolean());
        Assert.DoesNotContain(tenant, query.GetProperty("query").GetString(), StringComparison.Ordinal);
        Assert.Contains(query.GetProperty("queryParameters").EnumerateArray(), p =>
            p.GetProperty("name").GetString() == "tenantId" && p.GetProperty("parameterValue").GetProperty("value").GetString() == tenant);

        using (var client = new QueueClient(null!, tenant, Host.ClientWithToken(authority.TenantToken(tenant))))
        {
            var received = await client.ReceiveAsync(max: 100);
            Assert.Equal(["bq-1", "bq-2", "bq-3", "bq-4", "bq-5"], received.Select(d => d.Message.GetProperty("data").GetProperty("uuid").GetString()));
        }

        fake.FailNext(FakeCall.Query, 404, "notFound", $"Not found: Table {Table} was not found in location US");
        (await Admin.PostAsync($"/api/v1/tenants/{tenant}/ingestions", null)).EnsureSuccessStatusCode();
        var missing = await LastRunAsync(tenant);
        Assert.Equal("failed", missing.GetProperty("status").GetString());
        Assert.Contains("not found", missing.GetProperty("error").GetString(), StringComparison.OrdinalIgnoreCase);

        fake.FailNext(FakeCall.Query, 401, null, "Request had invalid authentication credentials.");
        (await Admin.PostAsync($"/api/v1/tenants/{tenant}/ingestions", null)).EnsureSuccessStatusCode();
        var unauthorized = await LastRunAsync(tenant);
        Assert.Equal("failed", unauthorized.GetProperty("status").GetString());
        Assert.Contains("credential", unauthorized.GetProperty("error").GetString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_sweep_is_one_query_job_for_every_tenant_and_its_bill_is_shared_by_rows()
    {
        var tenants = new[] { InsightsFixture.NewTenantId("bqs"), InsightsFixture.NewTenantId("bqs"), InsightsFixture.NewTenantId("bqs") };
        foreach (var tenant in tenants)
        {
            (await Admin.PostAsJsonAsync("/api/v1/tenants", new { id = tenant, name = tenant })).EnsureSuccessStatusCode();
            var first = await LastRunAsync(tenant);
            Assert.Equal("succeeded", first.GetProperty("status").GetString());
        }

        var now = DateTimeOffset.UtcNow;
        foreach (var (tenant, index) in tenants.Select((t, i) => (t, i)))
        {
            for (var m = 0; m <= index; m++)
            {
                fake.Table.Add(new FakeTableRow(tenant, new SourceModel(
                    $"{tenant}-{m}", "CashFlowForecast", "SIGAFIN", null, null, null, null, "{}", 1,
                    SourceTime.Truncate(now.AddMinutes(-5 + m)), false)));
            }
        }

        var queries = fake.Queries.Count;
        var (sweepId, created) = await Host.Services.GetRequiredService<FleetSweepTrigger>().RequestAsync(CancellationToken.None);
        Assert.True(created);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        JsonElement sweep;
        while (true)
        {
            var page = await Admin.GetFromJsonAsync<JsonElement>("/api/v1/ingestion-sweeps?limit=1");
            sweep = page.GetProperty("items").EnumerateArray().Single().Clone();
            if (sweep.GetProperty("id").GetGuid() == sweepId && sweep.GetProperty("status").GetString() is not ("queued" or "running"))
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "The sweep did not end.");
            await Task.Delay(50);
        }

        Assert.True(sweep.GetProperty("status").GetString() == "succeeded", sweep.ToString());
        Assert.Equal(queries + 1, fake.Queries.Count);
        var query = fake.Queries[^1].Json;
        Assert.DoesNotContain("tenantId", query.ToString(), StringComparison.Ordinal);
        Assert.Equal(6, sweep.GetProperty("rowsChanged").GetInt64());
        var billed = sweep.GetProperty("bytesBilled").GetInt64();
        Assert.Equal(FakeBigQuery.MinimumBilledBytes, billed);
        long shares = 0;
        foreach (var tenant in tenants)
        {
            var usage = await Admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{tenant}/usage");
            shares += usage.GetProperty("ingestion").GetProperty("sweptBytesBilled").GetInt64();
        }

        Assert.Equal(billed, shares);
    }
}
