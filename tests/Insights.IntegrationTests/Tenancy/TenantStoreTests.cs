using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Insights.Database;
using Insights.IntegrationTests.Infrastructure;
using Insights.SmartLink;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Insights.IntegrationTests.Tenancy;

/// <summary>Tenant stores: the PostgreSQL databases that hold tenant schemas, <c>main</c> (the catalog's) and the configured ones.</summary>
public sealed class TenantStoreTests : OwnDatabaseTests
{
    private TestDatabase store2 = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        store2 = await Store2Async();
    }

    [Fact]
    public async Task New_tenants_go_to_the_store_with_fewest_tenants_or_the_named_one_and_the_listing_counts_them()
    {
        var settings = InsightsFactory.Settings(Authority, Database);
        settings["Stores:store2"] = store2.ConnectionString;
        await using var factory = new InsightsFactory(settings);
        using var admin = factory.ClientWithToken(Authority.AdminToken());

        // Placement: fewest tenants first, ties by name.
        var placed = new List<string>();
        foreach (var id in new[] { "stores-a", "stores-b", "stores-c" })
        {
            var created = await admin.PostAsJsonAsync("/api/v1/tenants", new { id, name = id });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            placed.Add((await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("store").GetString()!);
        }

        Assert.Equal(["main", "store2", "main"], placed);
        var named = await admin.PostAsJsonAsync("/api/v1/tenants", new { id = "stores-d", name = "d", store = "main" });
        Assert.Equal("main", (await named.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("store").GetString());
        Assert.Equal("store2", (await admin.GetFromJsonAsync<JsonElement>("/api/v1/tenants/stores-b")).GetProperty("store").GetString());

        // Each schema is on its store only.
        await using (var mainDb = Database.CreateDataSource())
        await using (var secondDb = store2.CreateDataSource())
        {
            Assert.True(await TenantData.SchemaExistsAsync(secondDb, "stores-b"));
            Assert.False(await TenantData.SchemaExistsAsync(mainDb, "stores-b"));
            Assert.True(await TenantData.SchemaExistsAsync(mainDb, "stores-c"));
            Assert.False(await TenantData.SchemaExistsAsync(secondDb, "stores-c"));
        }

        var stores = await StoresAsync(admin);
        Assert.Equal(["main", "store2"], stores.Select(s => s.Name));
        Assert.Equal(3, stores[0].Tenants);
        Assert.Equal(1, stores[1].Tenants);
        Assert.All(stores, s => Assert.True(s.Configured));
        Assert.All(stores, s => Assert.True(s.Bytes > 1_000_000, $"{s.Name}: {s.Bytes} bytes"));

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync("/api/v1/tenants/stores-b")).StatusCode);
        await using (var secondDb = store2.CreateDataSource())
        {
            Assert.False(await TenantData.SchemaExistsAsync(secondDb, "stores-b"));
        }

        stores = await StoresAsync(admin);
        Assert.Equal([3, 0], stores.Select(s => s.Tenants));
        var next = await admin.PostAsJsonAsync("/api/v1/tenants", new { id = "stores-e", name = "e" });
        Assert.Equal("store2", (await next.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("store").GetString());
    }

    [Fact]
    public async Task The_stores_listing_is_for_admins()
    {
        await using var factory = new InsightsFactory(InsightsFactory.Settings(Authority, Database));
        using var anonymous = factory.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/stores")).StatusCode);
        using var tenant = factory.ClientWithToken(Authority.TenantToken("stores-a"));
        Assert.Equal(HttpStatusCode.Forbidden, (await tenant.GetAsync("/api/v1/stores")).StatusCode);
    }

    [Fact]
    public async Task A_node_hears_the_queue_notifications_of_every_store()
    {
        var settings = InsightsFactory.Settings(Authority, Database);
        settings["Stores:store2"] = store2.ConnectionString;
        settings["Roles"] = "api";
        await using var factory = new InsightsFactory(settings);
        using var admin = factory.ClientWithToken(Authority.AdminToken());
        const string tenantId = "stores-wake";
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/tenants", new { id = tenantId, name = tenantId, store = "store2" })).StatusCode);
        await factory.Services.GetRequiredService<QueueSignals>().Listening;

        // The statements naming the tenant's schema: the long poll's first look is the only one until something wakes it.
        var schema = SchemaName.ForTenant(tenantId);
        var looks = new ConcurrentQueue<string>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Npgsql",
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = activity =>
            {
                if (activity.GetTagItem("db.query.text") is string text && text.Contains(schema.Quoted, StringComparison.Ordinal))
                {
                    looks.Enqueue(text);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        using var client = factory.ClientWithToken(Authority.TenantToken(tenantId));
        var poll = client.PostAsJsonAsync("/api/v1/smartlink/receive", new { waitSeconds = 20 });
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (looks.IsEmpty)
        {
            Assert.True(DateTime.UtcNow < deadline, "The long poll never looked at its queue.");
            await Task.Delay(20);
        }

        // A message the node was not told of, written on the tenant's store with the queue's notification there (as another
        // node's enqueue would): only a node listening on that store wakes the poll before its 20 s.
        var id = Guid.CreateVersion7();
        await using (var second = store2.CreateDataSource())
        await using (var insert = second.CreateCommand(
            $"INSERT INTO {schema.Quoted}.queue_messages (id, type, envelope) VALUES ($1, 'InsightModel', $2)"))
        {
            insert.Parameters.Add(new NpgsqlParameter { Value = id });
            insert.Parameters.Add(new NpgsqlParameter { Value = JsonSerializer.Serialize(new { specversion = "1.0", id, type = "InsightModel", source = "/tests", data = new { } }) });
            await insert.ExecuteNonQueryAsync();
        }

        await using (var other = store2.CreateDataSource())
        await using (var notify = other.CreateCommand("SELECT pg_notify('insights_queue', $1)"))
        {
            notify.Parameters.Add(new NpgsqlParameter { Value = tenantId });
            await notify.ExecuteNonQueryAsync();
        }

        var answered = await poll;
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        var messages = (await answered.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("messages");
        Assert.Equal(id, Assert.Single(messages.EnumerateArray()).GetProperty("message").GetProperty("id").GetGuid());
    }

    private static async Task<List<Store>> StoresAsync(HttpClient admin)
    {
        var page = await admin.GetFromJsonAsync<JsonElement>("/api/v1/stores");
        Assert.Equal(JsonValueKind.Null, page.GetProperty("nextCursor").ValueKind);
        return [.. page.GetProperty("items").EnumerateArray().Select(s => new Store(
            s.GetProperty("name").GetString()!, s.GetProperty("tenants").GetInt64(),
            s.GetProperty("bytes").ValueKind == JsonValueKind.Null ? null : s.GetProperty("bytes").GetInt64(), s.GetProperty("configured").GetBoolean()))];
    }

    private sealed record Store(string Name, long Tenants, long? Bytes, bool Configured);
}
