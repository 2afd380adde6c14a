using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Insights.Database;
using Insights.IntegrationTests.Infrastructure;
using Insights.Tenancy;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Insights.IntegrationTests.Tenancy;

[Collection(SharedHost.Name)]
public sealed class ProvisioningTests(InsightsFixture host) : IAsyncLifetime
{
    private NpgsqlDataSource db = null!;

    public Task InitializeAsync()
    {
        db = host.Database.CreateDataSource();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await db.DisposeAsync();

    [Theory]
    [InlineData("main")]
    [InlineData("store2")]
    public async Task Provisioning_creates_the_schema_and_its_tables_in_the_one_request(string store)
    {
        var id = InsightsFixture.NewTenantId();
        var response = await host.Admin.PostAsJsonAsync("/api/v1/tenants", new { id, name = "Acme", settings = new { region = "br" }, store });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal($"/api/v1/tenants/{id}", response.Headers.Location?.ToString());
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(id, body.GetProperty("id").GetString());
        Assert.Equal("active", body.GetProperty("status").GetString());
        Assert.Equal(new TenantMigrator().LatestVersion, body.GetProperty("schemaVersion").GetInt32());
        Assert.Equal("br", body.GetProperty("settings").GetProperty("region").GetString());
        Assert.False(body.TryGetProperty("schemaName", out _));
        Assert.Equal(store, body.GetProperty("store").GetString());

        // The schema is on its store, and only there.
        await using var storeDb = host.StoreDatabase(store).CreateDataSource();
        await using var otherDb = host.StoreDatabase(store == "main" ? InsightsFixture.SecondStore : "main").CreateDataSource();
        Assert.True(await TenantData.SchemaExistsAsync(storeDb, id));
        Assert.False(await TenantData.SchemaExistsAsync(otherDb, id));
        Assert.Equal(["insight_models", "queue_messages"], await TenantData.TablesAsync(storeDb, id));
    }

    [Theory]
    [InlineData("elsewhere")]
    [InlineData("Store2")]
    [InlineData("store2; DROP SCHEMA catalog")]
    [InlineData("")]
    public async Task A_store_this_service_does_not_name_is_400_and_creates_nothing(string store)
    {
        var id = InsightsFixture.NewTenantId();
        var response = await host.Admin.PostAsJsonAsync("/api/v1/tenants", new { id, name = "Nowhere", store });

        var problem = await Problem.AssertAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("store2", problem.GetProperty("errors").GetProperty("store")[0].GetString(), StringComparison.Ordinal);
        await Problem.AssertAsync(await host.Admin.GetAsync($"/api/v1/tenants/{id}"), HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("""{"id":"store-typed","name":"n","store":7}""")]
    [InlineData("""{"id":"store-typed","name":"n","store":["main"]}""")]
    [InlineData("""{"id":"store-typed","name":"n","store":"main\n"}""")]
    public async Task A_store_of_the_wrong_shape_is_400_and_creates_nothing(string body)
    {
        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        await Problem.AssertAsync(await host.Admin.PostAsync("/api/v1/tenants", content), HttpStatusCode.BadRequest);
        await Problem.AssertAsync(await host.Admin.GetAsync("/api/v1/tenants/store-typed"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Same_id_again_is_409_and_changes_nothing()
    {
        var id = await host.CreateTenantAsync();
        var response = await host.Admin.PostAsJsonAsync("/api/v1/tenants", new { id, name = "Another name" });

        await Problem.AssertAsync(response, HttpStatusCode.Conflict);
        var tenant = await host.Admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{id}");
        Assert.Equal("Tenant " + id, tenant.GetProperty("name").GetString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("acme'; DROP SCHEMA catalog CASCADE; --")]
    [InlineData("a\"b")]
    [InlineData("has space")]
    [InlineData("semi;colon")]
    [InlineData("ação")]
    [InlineData("../etc")]
    [InlineData("tab\tid")]
    public async Task Invalid_ids_are_400_and_create_no_schema(string id)
    {
        var before = await TenantData.TenantSchemaCountAsync(db);
        var response = await host.Admin.PostAsJsonAsync("/api/v1/tenants", new { id, name = "Bad" });

        var problem = await Problem.AssertAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("id", out _));
        Assert.Equal(before, await TenantData.TenantSchemaCountAsync(db));
    }

    [Fact]
    public async Task Ids_that_differ_only_by_case_or_dash_get_separate_schemas()
    {
        var stem = "Case-" + Guid.NewGuid().ToString("N")[..8];
        var ids = new[] { stem, stem.ToLowerInvariant(), stem.Replace('-', '_') };
        foreach (var id in ids)
        {
            Assert.Equal(HttpStatusCode.Created, (await host.Admin.PostAsJsonAsync("/api/v1/tenants", new { id, name = id, store = "main" })).StatusCode);
        }

        Assert.Equal(3, ids.Select(i => SchemaName.ForTenant(i).Value).Distinct().Count());
        foreach (var id in ids)
        {
            Assert.True(await TenantData.SchemaExistsAsync(db, id));
        }
    }

    [Fact]
    public async Task Ten_concurrent_creates_of_one_id_give_exactly_one_201()
    {
        var id = InsightsFixture.NewTenantId("race");
        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ =>
            host.Admin.PostAsJsonAsync("/api/v1/tenants", new { id, name = "Race", store = "main" })));

        Assert.Equal(1, responses.Count(r => r.StatusCode == HttpStatusCode.Created));
        Assert.Equal(9, responses.Count(r => r.StatusCode == HttpStatusCode.Conflict));
        Assert.True(await TenantData.SchemaExistsAsync(db, id));
    }

    [Fact]
    public async Task A_failure_midway_leaves_the_tenant_failed_without_a_schema_and_creating_it_again_completes_it()
    {
        var current = new TenantMigrator();
        var broken = new TenantMigrator(
            [.. current.Scripts, new TenantScript("9999_broken.sql", 9999, "CREATE TABLE $schema$.broken (id int REFERENCES $schema$.missing (id));")],
            current.Baseline);
        await using (var failing = new InsightsFactory(
            InsightsFactory.Settings(host.Authority, host.Database),
            services: s => s.AddSingleton(broken)))
        {
            using var admin = failing.ClientWithToken(host.Authority.AdminToken());
            var id = InsightsFixture.NewTenantId("fail");
            var response = await admin.PostAsJsonAsync("/api/v1/tenants", new { id, name = "Fails" });

            var problem = await Problem.AssertAsync(response, HttpStatusCode.InternalServerError);
            Assert.Contains("POST it again", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
            var tenant = await host.Admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{id}");
            Assert.Equal("failed", tenant.GetProperty("status").GetString());
            Assert.False(string.IsNullOrEmpty(tenant.GetProperty("statusReason").GetString()));
            Assert.False(await TenantData.SchemaExistsAsync(db, id));

            using var client = host.TenantClient(id);
            await Problem.AssertAsync(await client.GetAsync("/api/v1/insight-models"), HttpStatusCode.Forbidden);

            var again = await host.Admin.PostAsJsonAsync("/api/v1/tenants", new { id, name = "Fixed" });
            Assert.Equal(HttpStatusCode.Created, again.StatusCode);
            var fixedTenant = await again.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("active", fixedTenant.GetProperty("status").GetString());
            Assert.True(await TenantData.SchemaExistsAsync(db, id));

            // The success is audited in the provisioning transaction, so the rolled-back attempt left only its failure.
            await using var audit = db.CreateCommand("SELECT outcome FROM catalog.audit_log WHERE tenant_id = $1 AND action = 'tenant.provision' ORDER BY id");
            audit.Parameters.Add(new NpgsqlParameter { Value = id });
            var outcomes = new List<string>();
            await using var reader = await audit.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                outcomes.Add(reader.GetString(0));
            }

            Assert.Equal(["failed", "succeeded"], outcomes);
        }
    }

    [Fact]
    public async Task Suspending_refuses_the_tenant_client_and_resuming_lets_it_back()
    {
        var id = await host.CreateTenantAsync();
        using var client = host.TenantClient(id);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/insight-models")).StatusCode);

        var suspend = await host.Admin.PatchAsJsonAsync($"/api/v1/tenants/{id}", new { status = "suspended" });
        Assert.Equal(HttpStatusCode.OK, suspend.StatusCode);
        Assert.Equal("suspended", (await suspend.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        await Problem.AssertAsync(await client.GetAsync("/api/v1/insight-models"), HttpStatusCode.Forbidden);

        var resume = await host.Admin.PatchAsJsonAsync($"/api/v1/tenants/{id}", new { status = "active" });
        Assert.Equal(HttpStatusCode.OK, resume.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/insight-models")).StatusCode);
    }

    [Fact]
    public async Task Patch_renames_and_replaces_settings_and_rejects_bad_values()
    {
        var id = await host.CreateTenantAsync();
        var renamed = await host.Admin.PatchAsJsonAsync($"/api/v1/tenants/{id}", new { name = "Renamed", settings = new { tier = "gold" } });
        var body = await renamed.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Renamed", body.GetProperty("name").GetString());
        Assert.Equal("gold", body.GetProperty("settings").GetProperty("tier").GetString());

        await Problem.AssertAsync(await host.Admin.PatchAsJsonAsync($"/api/v1/tenants/{id}", new { status = "deprovisioning" }), HttpStatusCode.BadRequest);
        await Problem.AssertAsync(await host.Admin.PatchAsJsonAsync($"/api/v1/tenants/{id}", new { settings = new[] { 1, 2 } }), HttpStatusCode.BadRequest);
        await Problem.AssertAsync(await host.Admin.PatchAsJsonAsync($"/api/v1/tenants/{id}", new { }), HttpStatusCode.BadRequest);
        await Problem.AssertAsync(await host.Admin.PatchAsJsonAsync("/api/v1/tenants/nobody-here", new { name = "x" }), HttpStatusCode.NotFound);
        Assert.Equal("Renamed", (await host.Admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{id}")).GetProperty("name").GetString());
    }

    [Fact]
    public async Task Delete_drops_the_schema_keeps_the_audit_and_frees_the_id()
    {
        var id = await host.CreateTenantAsync();
        await TenantData.InsertModelAsync(db, id, "m-1");

        Assert.Equal(HttpStatusCode.NoContent, (await host.Admin.DeleteAsync($"/api/v1/tenants/{id}")).StatusCode);
        Assert.False(await TenantData.SchemaExistsAsync(db, id));
        await Problem.AssertAsync(await host.Admin.GetAsync($"/api/v1/tenants/{id}"), HttpStatusCode.NotFound);
        await Problem.AssertAsync(await host.Admin.DeleteAsync($"/api/v1/tenants/{id}"), HttpStatusCode.NotFound);
        using (var client = host.TenantClient(id))
        {
            await Problem.AssertAsync(await client.GetAsync("/api/v1/insight-models"), HttpStatusCode.Forbidden);
        }

        await using (var audit = db.CreateCommand("SELECT action || ' ' || outcome FROM catalog.audit_log WHERE tenant_id = $1 ORDER BY id"))
        {
            audit.Parameters.Add(new NpgsqlParameter { Value = id });
            var actions = new List<string>();
            await using var reader = await audit.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                actions.Add(reader.GetString(0));
            }

            // The second delete found nothing: refused, and recorded as such.
            Assert.Equal(["tenant.provision succeeded", "tenant.deprovision succeeded", "tenant.deprovision rejected"], actions);
        }

        var again = await host.Admin.PostAsJsonAsync("/api/v1/tenants", new { id, name = "Back again" });
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        using var back = host.TenantClient(id);
        var models = await back.GetFromJsonAsync<JsonElement>("/api/v1/insight-models");
        Assert.Equal(0, models.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task Ids_with_injection_in_the_path_are_404()
    {
        await Problem.AssertAsync(await host.Admin.GetAsync("/api/v1/tenants/x'%3B%20DROP%20TABLE%20catalog.tenants%3B--"), HttpStatusCode.NotFound);
        await Problem.AssertAsync(await host.Admin.GetAsync("/api/v1/tenants/%2E%2E%2Fetc"), HttpStatusCode.NotFound);
        await Problem.AssertAsync(await host.Admin.DeleteAsync("/api/v1/tenants/a%22b"), HttpStatusCode.NotFound);
        Assert.Equal(HttpStatusCode.OK, (await host.Admin.GetAsync("/api/v1/tenants")).StatusCode);
    }

    [Fact]
    public async Task List_pages_with_cursors_and_filters_by_status()
    {
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await host.CreateTenantAsync());
        }

        await host.Admin.PatchAsJsonAsync($"/api/v1/tenants/{ids[0]}", new { status = "suspended" });

        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var page = await host.Admin.GetFromJsonAsync<JsonElement>("/api/v1/tenants?limit=2" + (cursor is null ? "" : "&cursor=" + cursor));
            Assert.True(page.GetProperty("items").GetArrayLength() <= 2);
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("id").GetString()!));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);

        Assert.Equal(seen.Distinct().Count(), seen.Count);
        Assert.All(ids, id => Assert.Contains(id, seen));
        Assert.Equal(seen.OrderBy(s => s, StringComparer.Ordinal).ToList(), seen);

        var suspended = await host.Admin.GetFromJsonAsync<JsonElement>("/api/v1/tenants?status=suspended&limit=500");
        var suspendedIds = suspended.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("id").GetString()).ToList();
        Assert.Contains(ids[0], suspendedIds);
        Assert.DoesNotContain(ids[1], suspendedIds);

        await Problem.AssertAsync(await host.Admin.GetAsync("/api/v1/tenants?limit=0"), HttpStatusCode.BadRequest);
        await Problem.AssertAsync(await host.Admin.GetAsync("/api/v1/tenants?limit=501"), HttpStatusCode.BadRequest);
        await Problem.AssertAsync(await host.Admin.GetAsync("/api/v1/tenants?limit=abc"), HttpStatusCode.BadRequest);
        await Problem.AssertAsync(await host.Admin.GetAsync("/api/v1/tenants?cursor=!!!"), HttpStatusCode.BadRequest);
        await Problem.AssertAsync(await host.Admin.GetAsync("/api/v1/tenants?status=sleeping"), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Usage_reports_schema_bytes_and_rows_per_table()
    {
        var id = await host.CreateTenantAsync();
        await TenantData.InsertModelAsync(db, id, "m-1");
        await TenantData.InsertModelAsync(db, id, "m-2");

        var usage = await host.Admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{id}/usage");
        Assert.True(usage.GetProperty("schemaBytes").GetInt64() > 0);
        var models = usage.GetProperty("tables").EnumerateArray().Single(t => t.GetProperty("name").GetString() == "insight_models");
        Assert.Equal(2, models.GetProperty("rows").GetInt64());
        Assert.False(models.GetProperty("rowsEstimated").GetBoolean());

        await Problem.AssertAsync(await host.Admin.GetAsync("/api/v1/tenants/nobody-here/usage"), HttpStatusCode.NotFound);
    }
}
