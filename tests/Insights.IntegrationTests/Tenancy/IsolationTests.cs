using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Insights.Database;
using Insights.InsightModels;
using Insights.IntegrationTests.Infrastructure;
using Insights.Tenancy;
using Npgsql;

namespace Insights.IntegrationTests.Tenancy;

[Collection(SharedHost.Name)]
public sealed class IsolationTests(InsightsFixture host) : IAsyncLifetime
{
    private NpgsqlDataSource db = null!;
    private NpgsqlDataSource store2 = null!;

    public Task InitializeAsync()
    {
        db = host.Database.CreateDataSource();
        store2 = host.Store2.CreateDataSource();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await db.DisposeAsync();
        await store2.DisposeAsync();
    }

    /// <summary>The database of a tenant store, to write into a tenant's schema directly.</summary>
    private NpgsqlDataSource Db(string store) => store == InsightsFixture.SecondStore ? store2 : db;

    private static List<string> Ids(JsonElement page) =>
        page.GetProperty("items").EnumerateArray().Select(m => m.GetProperty("id").GetString()!).ToList();

    [Theory]
    [InlineData("main", "main")]
    [InlineData("store2", "store2")]
    [InlineData("main", "store2")]
    public async Task Two_tenants_never_see_each_others_models(string storeA, string storeB)
    {
        var a = await host.CreateTenantAsync(store: storeA);
        var b = await host.CreateTenantAsync(store: storeB);
        await TenantData.InsertModelAsync(Db(storeA), a, "a-1");
        await TenantData.InsertModelAsync(Db(storeA), a, "a-2");
        await TenantData.InsertModelAsync(Db(storeB), b, "b-1");

        using var clientA = host.TenantClient(a);
        using var clientB = host.TenantClient(b);
        Assert.Equal(["a-1", "a-2"], Ids(await clientA.GetFromJsonAsync<JsonElement>("/api/v1/insight-models")).Order());
        Assert.Equal(["b-1"], Ids(await clientB.GetFromJsonAsync<JsonElement>("/api/v1/insight-models")));

        // A cursor made for A, replayed by B, still only reads B.
        var pageA = await clientA.GetFromJsonAsync<JsonElement>("/api/v1/insight-models?limit=1");
        var cursor = pageA.GetProperty("nextCursor").GetString();
        Assert.NotNull(cursor);
        var replay = await clientB.GetFromJsonAsync<JsonElement>("/api/v1/insight-models?cursor=" + cursor);
        Assert.All(Ids(replay), id => Assert.StartsWith("b-", id, StringComparison.Ordinal));

        // Admins read a named tenant; unknown tenants are 404.
        Assert.Equal(["a-1", "a-2"], Ids(await host.Admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{a}/insight-models")).Order());
        await Problem.AssertAsync(await host.Admin.GetAsync("/api/v1/tenants/nobody-here/insight-models"), HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("main", "main")]
    [InlineData("store2", "main")]
    [InlineData("main", "store2")]
    public async Task Tenant_clients_cannot_name_another_tenant(string storeA, string storeB)
    {
        var a = await host.CreateTenantAsync(store: storeA);
        var b = await host.CreateTenantAsync(store: storeB);
        await TenantData.InsertModelAsync(Db(storeB), b, "b-secret");
        using var clientA = host.TenantClient(a);

        // The tenant routes of the admin API are closed to tenant tokens, and no tenant route takes a tenant id.
        await Problem.AssertAsync(await clientA.GetAsync($"/api/v1/tenants/{b}/insight-models"), HttpStatusCode.Forbidden);
        await Problem.AssertAsync(await clientA.GetAsync($"/api/v1/tenants/{b}"), HttpStatusCode.Forbidden);
        var own = await clientA.GetFromJsonAsync<JsonElement>($"/api/v1/insight-models?tenantId={b}");
        Assert.Empty(Ids(own));
    }

    [Fact]
    public async Task A_pool_of_one_connection_interleaving_two_tenants_never_mixes_them()
    {
        var a = await host.CreateTenantAsync();
        var b = await host.CreateTenantAsync();
        await TenantData.InsertModelAsync(db, a, "a-only");
        await TenantData.InsertModelAsync(db, b, "b-only");

        var single = new NpgsqlConnectionStringBuilder(host.Database.ConnectionString) { MaxPoolSize = 1, MinPoolSize = 0 };
        await using var catalog = NpgsqlDataSource.Create(single.ConnectionString);
        // One lane of one connection: both tenants' reads take the same connection, one after the other.
        await using var connections = new TenantDatabases(new CatalogDatabase(catalog), single.ConnectionString, laneCount: 1, lanePoolSize: 1);
        var reader = new InsightModelReader(connections);
        var tenantA = new TenantInfo(a, a, TenantStatus.Active, SchemaName.ForTenant(a));
        var tenantB = new TenantInfo(b, b, TenantStatus.Active, SchemaName.ForTenant(b));
        var pool = connections.For(tenantA);

        await using (var probe = pool.CreateCommand("SHOW search_path"))
        {
            var defaultPath = (string)(await probe.ExecuteScalarAsync())!;
            for (var i = 0; i < 25; i++)
            {
                var pageA = await reader.ListAsync(tenantA, null, null, null, null, 50, CancellationToken.None);
                var pageB = await reader.ListAsync(tenantB, null, null, null, null, 50, CancellationToken.None);
                Assert.Equal(["a-only"], pageA.Items.Select(m => m.Id));
                Assert.Equal(["b-only"], pageB.Items.Select(m => m.Id));
                Assert.Equal(a, pageA.Items[0].Payload.GetProperty("owner").GetString());
            }

            await using var again = pool.CreateCommand("SHOW search_path");
            Assert.Equal(defaultPath, (string)(await again.ExecuteScalarAsync())!);
        }

        // Unqualified names resolve to no tenant's table on a pooled connection.
        await using var unqualified = pool.CreateCommand("SELECT to_regclass('insight_models') IS NULL");
        Assert.True((bool)(await unqualified.ExecuteScalarAsync())!);
    }
}
