using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Insights.Database;
using Insights.IntegrationTests.Infrastructure;
using Insights.Tenancy;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Insights.IntegrationTests.Tenancy;

[Collection(SharedHost.Name)]
public sealed class TenantProvisionedEventTests(InsightsFixture host)
{
    [Fact]
    public async Task Provisioning_publishes_TenantProvisioned_on_the_bus()
    {
        var id = InsightsFixture.NewTenantId("evt");
        var received = new TaskCompletionSource<TenantProvisioned>(TaskCreationOptions.RunContinuationsAsynchronously);
        var bus = host.Factory.Services.GetRequiredService<IBus>();
        var endpoint = bus.ConnectReceiveEndpoint("test-tenant-provisioned-" + Guid.NewGuid().ToString("N")[..8], e =>
            e.Handler<TenantProvisioned>(context =>
            {
                if (context.Message.TenantId == id)
                {
                    received.TrySetResult(context.Message);
                }

                return Task.CompletedTask;
            }));
        await endpoint.Ready;
        try
        {
            await host.CreateTenantAsync(id);
            var message = await received.Task.WaitAsync(TimeSpan.FromSeconds(15));
            Assert.Equal(new TenantMigrator().LatestVersion, message.SchemaVersion);
        }
        finally
        {
            await endpoint.StopAsync();
        }
    }
}

/// <summary>Hosts and processes of their own on a database of their own.</summary>
public sealed class TenantCliAndStartupTests : OwnDatabaseTests
{
    [Fact]
    public async Task Two_hosts_starting_together_on_a_fresh_database_apply_the_catalog_migrations_once()
    {
        var settings = InsightsFactory.Settings(Authority, Database);
        await using var one = new InsightsFactory(settings);
        await using var two = new InsightsFactory(settings);
        await Task.WhenAll(Task.Run(() => one.CreateClient().Dispose()), Task.Run(() => two.CreateClient().Dispose()));

        await using var db = Database.CreateDataSource();
        await using var journal = db.CreateCommand("SELECT count(*), count(DISTINCT scriptname) FROM catalog.schema_migrations");
        await using var reader = await journal.ExecuteReaderAsync();
        await reader.ReadAsync();
        Assert.Equal(reader.GetInt64(1), reader.GetInt64(0));
        Assert.True(reader.GetInt64(0) >= 2);
    }

    [Fact]
    public async Task The_migrate_tenants_verb_brings_a_tenant_that_is_behind_up_to_date()
    {
        var ids = new[] { InsightsFixture.NewTenantId("cli"), InsightsFixture.NewTenantId("cli") };
        var settings = InsightsFactory.Settings(Authority, Database);
        settings["Database:MigrateTenantsOnStart"] = "false";
        await using (var factory = new InsightsFactory(settings))
        {
            using var admin = factory.ClientWithToken(Authority.AdminToken());
            foreach (var id in ids)
            {
                Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/tenants", new { id, name = id })).StatusCode);
            }
        }

        // Turn the first tenant into one provisioned before the queue migration existed.
        var schema = SchemaName.ForTenant(ids[0]);
        await using var db = Database.CreateDataSource();
        await using (var rewind = db.CreateCommand(
            $"""
            DROP TABLE {schema.Quoted}.queue_messages;
            DELETE FROM insights_store.tenant_schema_migrations WHERE schema_name = '{schema.Value}' AND script IN ('0002_queue.sql', '0003_queue_envelope_text.sql');
            UPDATE catalog.tenants SET schema_version = 1 WHERE id = '{ids[0]}';
            """))
        {
            await rewind.ExecuteNonQueryAsync();
        }

        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Insights.Api.dll"));
        start.ArgumentList.Add("migrate");
        start.ArgumentList.Add("--tenants");
        start.Environment["ConnectionStrings__Insights"] = Database.ConnectionString;
        start.Environment["DOTNET_ENVIRONMENT"] = "Testing";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(60)), "migrate --tenants did not finish");

        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {await output} {await errors}");
        Assert.Contains("1 of 1 tenants migrated, 0 failed", await output, StringComparison.Ordinal);
        Assert.Contains("1/1 tenants", await errors, StringComparison.Ordinal);
        await using var check = db.CreateCommand($"SELECT to_regclass('{schema.Value}.queue_messages') IS NOT NULL");
        Assert.True((bool)(await check.ExecuteScalarAsync())!);
        await using var version = db.CreateCommand("SELECT min(schema_version) FROM catalog.tenants");
        Assert.Equal(new TenantMigrator().LatestVersion, (int)(await version.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task Suspending_on_one_node_refuses_the_tenant_on_another_at_once()
    {
        await using var virtualHost = await TestVirtualHost.CreateAsync();
        await using var one = new InsightsFactory(InsightsFactory.Settings(Authority, Database, virtualHost));
        await using var two = new InsightsFactory(InsightsFactory.Settings(Authority, Database, virtualHost));
        using var adminOne = one.ClientWithToken(Authority.AdminToken());
        using var clientTwo = two.ClientWithToken(Authority.TenantToken("two-nodes"));
        Assert.Equal(HttpStatusCode.Created, (await adminOne.PostAsJsonAsync("/api/v1/tenants", new { id = "two-nodes", name = "Two nodes" })).StatusCode);

        // Node two caches the tenant as active...
        Assert.Equal(HttpStatusCode.OK, (await clientTwo.GetAsync("/api/v1/insight-models")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await adminOne.PatchAsJsonAsync("/api/v1/tenants/two-nodes", new { status = "suspended" })).StatusCode);

        // ...and hears of the suspension well before its cached entry would expire.
        var watch = Stopwatch.StartNew();
        HttpStatusCode status;
        do
        {
            status = (await clientTwo.GetAsync("/api/v1/insight-models")).StatusCode;
            if (status == HttpStatusCode.Forbidden)
            {
                break;
            }

            await Task.Delay(20);
        }
        while (watch.Elapsed < TimeSpan.FromSeconds(4));

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.True(watch.Elapsed < TenantDirectory.CacheFor / 2, $"Node two refused the tenant after {watch.ElapsedMilliseconds} ms.");
    }

    [Fact]
    public async Task A_change_reaches_another_node_through_PostgreSQL_alone()
    {
        // Two nodes with in-memory buses: no event crosses between them, only the database's notification at the commit.
        await using var one = new InsightsFactory(InsightsFactory.Settings(Authority, Database));
        await using var two = new InsightsFactory(InsightsFactory.Settings(Authority, Database));
        using var adminOne = one.ClientWithToken(Authority.AdminToken());
        var tenantId = InsightsFixture.NewTenantId("pg");
        using var clientTwo = two.ClientWithToken(Authority.TenantToken(tenantId));
        await two.Services.GetRequiredService<Insights.Database.DatabaseNotifications>().Listening;
        Assert.Equal(HttpStatusCode.Created, (await adminOne.PostAsJsonAsync("/api/v1/tenants", new { id = tenantId, name = tenantId })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await clientTwo.GetAsync("/api/v1/insight-models")).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await adminOne.PatchAsJsonAsync($"/api/v1/tenants/{tenantId}", new { status = "suspended" })).StatusCode);

        // Well within the time node two keeps its entry, which only the notification can cut short.
        var deadline = DateTime.UtcNow + TenantDirectory.CacheFor / 5;
        while ((await clientTwo.GetAsync("/api/v1/insight-models")).StatusCode != HttpStatusCode.Forbidden)
        {
            Assert.True(DateTime.UtcNow < deadline, "Node two still serves the suspended tenant.");
            await Task.Delay(20);
        }
    }
}
