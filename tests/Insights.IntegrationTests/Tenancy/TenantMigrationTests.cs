using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Insights.Database;
using Insights.IntegrationTests.Infrastructure;
using Insights.Tenancy;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Insights.IntegrationTests.Tenancy;

/// <summary>Its own Database: these tests change every tenant schema in it.</summary>
public sealed class TenantMigrationTests : OwnDatabaseTests
{
    private static readonly TenantScript ProbeScript = new("9001_probe.sql", 9001, "CREATE TABLE $schema$.probe (id int PRIMARY KEY); INSERT INTO $schema$.probe VALUES (1);");

    private NpgsqlDataSource db = null!;
    private TestDatabase store2 = null!;
    private NpgsqlDataSource store2Db = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        db = Database.CreateDataSource();
        store2 = await Store2Async();
        store2Db = store2.CreateDataSource();
    }

    public override async Task DisposeAsync()
    {
        await db.DisposeAsync();
        await store2Db.DisposeAsync();
        await base.DisposeAsync();
    }

    /// <summary>The database of a tenant's store (new tenants spread over both).</summary>
    private NpgsqlDataSource Db(JsonElement tenant) => tenant.GetProperty("store").GetString() == InsightsFixture.SecondStore ? store2Db : db;

    private static readonly TenantMigrator Current = new();

    /// <summary>A host whose tenant migrations are today's plus <paramref name="extra"/>, added after the baseline.</summary>
    private InsightsFactory Host(params TenantScript[] extra) => new(
        new Dictionary<string, string?>(InsightsFactory.Settings(Authority, Database))
        {
            ["Database:MigrateTenantsOnStart"] = "false",
            ["Stores:" + InsightsFixture.SecondStore] = store2.ConnectionString,
        },
        services: extra.Length == 0 ? null : s => s.AddSingleton(new TenantMigrator([.. Current.Scripts, .. extra], Current.Baseline)));

    [Fact]
    public async Task A_new_tenant_migration_reaches_every_existing_tenant_through_the_api()
    {
        var ids = Enumerable.Range(0, 5).Select(_ => InsightsFixture.NewTenantId("mig")).ToList();
        await using (var before = Host())
        {
            using var admin = before.ClientWithToken(Authority.AdminToken());
            foreach (var id in ids)
            {
                Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/tenants", new { id, name = id })).StatusCode);
            }

            await admin.PatchAsJsonAsync($"/api/v1/tenants/{ids[0]}", new { status = "suspended" });
        }

        await using var after = Host(ProbeScript);
        using var client = after.ClientWithToken(Authority.AdminToken());
        var status = await client.GetFromJsonAsync<JsonElement>("/api/v1/tenant-migrations");
        Assert.Equal(9001, status.GetProperty("latestVersion").GetInt32());
        Assert.Equal(5, status.GetProperty("tenantsBehind").GetInt32());

        var start = await client.PostAsync("/api/v1/tenant-migrations", null);
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        var runId = (await start.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        JsonElement run;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        do
        {
            await Task.Delay(100);
            status = await client.GetFromJsonAsync<JsonElement>("/api/v1/tenant-migrations");
            run = status.GetProperty("lastRun");
        }
        while (run.GetProperty("status").GetString() == "running" && DateTime.UtcNow < deadline);

        Assert.Equal(runId, run.GetProperty("id").GetGuid());
        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        Assert.Equal(5, run.GetProperty("succeeded").GetInt32());
        Assert.Equal(0, status.GetProperty("tenantsBehind").GetInt32());
        var stores = new HashSet<string>();
        foreach (var id in ids)
        {
            var tenant = await client.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{id}");
            Assert.Contains("probe", await TenantData.TablesAsync(Db(tenant), id));
            Assert.Equal(9001, tenant.GetProperty("schemaVersion").GetInt32());
            stores.Add(tenant.GetProperty("store").GetString()!);
        }

        // The tenants were spread over both stores, and the run reached them on each.
        Assert.Equal(["main", "store2"], stores.Order());

        // A tenant created afterwards gets the baseline and the script after it at once, journaled as every script.
        var late = InsightsFixture.NewTenantId("late");
        var created = await client.PostAsJsonAsync("/api/v1/tenants", new { id = late, name = late });
        var lateTenant = await created.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(9001, lateTenant.GetProperty("schemaVersion").GetInt32());
        Assert.Contains("probe", await TenantData.TablesAsync(Db(lateTenant), late));
        await using var journal = Db(lateTenant).CreateCommand("SELECT script FROM insights_store.tenant_schema_migrations WHERE schema_name = $1 ORDER BY script");
        journal.Parameters.Add(new NpgsqlParameter { Value = SchemaName.ForTenant(late).Value });
        var scripts = new List<string>();
        await using (var reader = await journal.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                scripts.Add(reader.GetString(0));
            }
        }

        Assert.Equal([.. Current.Scripts.Select(s => s.Name), "9001_probe.sql"], scripts);
    }

    [Fact]
    public async Task One_tenants_failure_is_reported_and_the_others_are_migrated()
    {
        var ids = Enumerable.Range(0, 3).Select(_ => InsightsFixture.NewTenantId("part")).ToList();
        await using (var before = Host())
        {
            using var admin = before.ClientWithToken(Authority.AdminToken());
            foreach (var id in ids)
            {
                await admin.PostAsJsonAsync("/api/v1/tenants", new { id, name = id, store = "main" });
            }
        }

        // Sabotage one schema so the probe script fails there only.
        await using (var sabotage = db.CreateCommand($"CREATE TABLE {SchemaName.ForTenant(ids[1]).Quoted}.probe (other text)"))
        {
            await sabotage.ExecuteNonQueryAsync();
        }

        await using var after = Host(ProbeScript);
        var runner = after.Services.GetRequiredService<TenantMigrationRunner>();
        var progress = new List<MigrationProgress>();
        var run = await runner.RunAsync("test", new SynchronousProgress(progress), CancellationToken.None);

        Assert.Equal("failed", run.Status);
        Assert.Equal(2, run.Succeeded);
        var failure = Assert.Single(run.Failures);
        Assert.Equal(ids[1], failure.TenantId);
        Assert.Equal(3, progress.Count);
        Assert.Contains("probe", await TenantData.TablesAsync(db, ids[0]));
        Assert.Contains("probe", await TenantData.TablesAsync(db, ids[2]));
    }

    [Fact]
    public async Task Two_runs_at_once_apply_each_script_once()
    {
        var ids = Enumerable.Range(0, 4).Select(_ => InsightsFixture.NewTenantId("dual")).ToList();
        await using (var before = Host())
        {
            using var admin = before.ClientWithToken(Authority.AdminToken());
            foreach (var id in ids)
            {
                await admin.PostAsJsonAsync("/api/v1/tenants", new { id, name = id, store = "main" });
            }
        }

        await using var one = Host(ProbeScript);
        await using var two = Host(ProbeScript);
        var runs = await Task.WhenAll(
            one.Services.GetRequiredService<TenantMigrationRunner>().RunAsync("one", null, CancellationToken.None),
            two.Services.GetRequiredService<TenantMigrationRunner>().RunAsync("two", null, CancellationToken.None));

        Assert.All(runs, r => Assert.Empty(r.Failures));
        await using var journal = db.CreateCommand("SELECT count(*) FROM insights_store.tenant_schema_migrations WHERE script = '9001_probe.sql'");
        Assert.Equal(4L, (long)(await journal.ExecuteScalarAsync())!);
    }

    private sealed class SynchronousProgress(List<MigrationProgress> sink) : IProgress<MigrationProgress>
    {
        public void Report(MigrationProgress value)
        {
            lock (sink)
            {
                sink.Add(value);
            }
        }
    }
}
