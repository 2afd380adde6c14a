using System.Net.Http.Json;
using Google.Apis.Auth.OAuth2;
using Insights.BigQuery;
using Insights.Ingestion;
using Insights.IntegrationTests.Fakes;
using Insights.IntegrationTests.Infrastructure;
using Insights.IntegrationTests.Ingestion;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Insights.IntegrationTests.OnlineInsights;

/// <summary>
/// Every role in one host on the in-memory bus, a source that yields nothing (the tests store models themselves), and
/// the fake BigQuery behind <c>live</c> insights.
/// </summary>
public sealed class OnlineInsightsFixture : IAsyncLifetime
{
    public const string Stored = "OnlineCash";
    public const string Offline = "OnlineQuarterly";
    public const string Live = "OnlineLive";
    public const string Table = "carol-prod.insights.insight_models";

    public TestAuthority Authority { get; private set; } = null!;
    public TestDatabase Database { get; private set; } = null!;

    /// <summary>A second tenant store, on the other PostgreSQL server.</summary>
    public TestDatabase Store2 { get; private set; } = null!;

    public FakeBigQuery BigQuery { get; private set; } = null!;
    public InsightsFactory Factory { get; private set; } = null!;
    public HttpClient Admin { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Authority = await TestAuthority.StartAsync();
        Database = await TestDatabase.CreateAsync();
        Store2 = await TestDatabase.CreateAsync(TestServices.StorePostgres());
        BigQuery = await FakeBigQuery.StartAsync();
        var settings = InsightsFactory.Settings(Authority, Database);
        settings["Stores:" + InsightsFixture.SecondStore] = Store2.ConnectionString;
        settings["Ingestion:Interval"] = "1.00:00:00";
        settings["Ingestion:BigQuery:Table"] = Table;
        settings["BigQuery:BaseUrl"] = BigQuery.BaseUrl;
        settings["BigQuery:ProjectId"] = "carol-prod";
        settings["BigQuery:Retry:InitialDelayMs"] = "1";
        settings["BigQuery:Retry:MaxDelayMs"] = "2";
        // Fewer stored lookups at once than the live requests a test holds in the source.
        settings["OnlineInsights:ConcurrentMessageLimit"] = "2";
        Factory = new InsightsFactory(settings, services: s =>
        {
            s.RemoveAll<IInsightSource>();
            s.AddSingleton<IInsightSource>(new ScriptedSource());
            s.AddKeyedSingleton<ITokenAccess>(BigQuerySetup.TokenAccessKey, GoogleCredential.FromAccessToken("online-token"));
        });
        Admin = Factory.ClientWithToken(Authority.AdminToken());
        await DefineAsync(Admin);
    }

    /// <summary>The insight types the tests ask for.</summary>
    public static async Task DefineAsync(HttpClient admin)
    {
        foreach (var (name, online, source) in new[] { (Stored, true, "store"), (Offline, false, "store"), (Live, true, "live") })
        {
            (await admin.PutAsJsonAsync($"/api/v1/insight-definitions/{name}", new { module = "SIGAFIN", priority = "normal", online, source })).EnsureSuccessStatusCode();
        }
    }

    public HttpClient TenantClient(string tenantId) => Factory.ClientWithToken(Authority.TenantToken(tenantId));

    public async Task<string> TenantAsync(string store = "main")
    {
        var id = InsightsFixture.NewTenantId("on");
        (await Admin.PostAsJsonAsync("/api/v1/tenants", new { id, name = id, store })).EnsureSuccessStatusCode();
        return id;
    }

    /// <summary>The connection string of a tenant store's database, to write into its tenants' schemas.</summary>
    public string StoreConnectionString(string store) => store == InsightsFixture.SecondStore ? Store2.ConnectionString : Database.ConnectionString;

    public async Task DisposeAsync()
    {
        Admin.Dispose();
        await Factory.DisposeAsync();
        await BigQuery.DisposeAsync();
        await Store2.DisposeAsync();
        await Database.DisposeAsync();
        await Authority.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class OnlineInsightsHost : ICollectionFixture<OnlineInsightsFixture>
{
    public const string Name = "online-insights";
}
