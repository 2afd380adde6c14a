using System.Net;
using System.Net.Http.Json;
using Insights.Database;
using Insights.IntegrationTests.Infrastructure;
using Insights.Tenancy;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Xunit.Abstractions;

namespace Insights.IntegrationTests.Tenancy;

/// <summary>
/// <c>migrations/tenant/baseline.sql</c> against the history it stands for. A baseline that is behind (migrations were
/// added after the one it names) passes: provisioning runs those migrations after it. The tests say so in their output,
/// for whoever wants to fold them into the baseline.
/// </summary>
public sealed class TenantBaselineTests(TenantBaselineTests.TwoTenants tenants, ITestOutputHelper output) : IClassFixture<TenantBaselineTests.TwoTenants>
{
    [Fact]
    public async Task A_schema_built_from_the_baseline_equals_one_built_by_every_migration_in_order()
    {
        var baseline = tenants.Current.Baseline;
        Assert.NotNull(baseline);
        if (baseline.Through.Number < tenants.Current.LatestVersion)
        {
            output.WriteLine($"The tenant baseline is through {baseline.Through.Name}; provisioning also runs "
                + string.Join(", ", tenants.Current.Scripts.Where(s => s.Number > baseline.Through.Number).Select(s => s.Name)) + ".");
        }

        var provisioned = await SchemaCatalog.ReadAsync(tenants.Db, tenants.Provisioned);
        var migrated = await SchemaCatalog.ReadAsync(tenants.Db, tenants.Migrated);

        Assert.Contains("relation queue_messages", provisioned.Keys);
        var differences = SchemaCatalog.Differences("from the baseline", provisioned, "migrated in order", migrated);
        Assert.True(differences.Length == 0, "The schema provisioning builds from the baseline differs from the one the tenant migrations build:\n" + differences);
    }

    [Fact]
    public async Task A_provisioned_tenant_has_the_journal_and_version_of_one_migrated_script_by_script()
    {
        var provisioned = await JournalAsync(tenants.Provisioned);
        var migrated = await JournalAsync(tenants.Migrated);

        Assert.Equal(tenants.Current.Scripts.Select(s => s.Name), provisioned);
        Assert.Equal(migrated, provisioned);
        await using var versions = tenants.Db.CreateCommand("SELECT schema_name, schema_version FROM catalog.tenants");
        await using var reader = await versions.ExecuteReaderAsync();
        var count = 0;
        while (await reader.ReadAsync())
        {
            count++;
            Assert.True(reader.GetInt32(1) == tenants.Current.LatestVersion, $"{reader.GetString(0)} is at version {reader.GetInt32(1)}");
        }

        Assert.Equal(2, count);
    }

    private async Task<List<string>> JournalAsync(SchemaName schema)
    {
        await using var command = tenants.Db.CreateCommand("SELECT script FROM insights_store.tenant_schema_migrations WHERE schema_name = $1 ORDER BY script");
        command.Parameters.Add(new NpgsqlParameter { Value = schema.Value });
        var scripts = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            scripts.Add(reader.GetString(0));
        }

        return scripts;
    }

    /// <summary>
    /// One database with two tenants: one provisioned by today's host (from the baseline), and one provisioned when only the
    /// first tenant migration existed and brought up to date by the migration runner one migration per run, as a tenant
    /// that lived through every release was.
    /// </summary>
    public sealed class TwoTenants : IAsyncLifetime
    {
        private TestAuthority authority = null!;
        private TestDatabase database = null!;

        public TenantMigrator Current { get; } = new();

        public NpgsqlDataSource Db { get; private set; } = null!;

        public SchemaName Provisioned { get; private set; }

        public SchemaName Migrated { get; private set; }

        public async Task InitializeAsync()
        {
            authority = await TestAuthority.StartAsync();
            database = await TestDatabase.CreateAsync();
            Db = database.CreateDataSource();
            var settings = InsightsFactory.Settings(authority, database);
            settings["Database:MigrateTenantsOnStart"] = "false";

            var old = InsightsFixture.NewTenantId("history");
            var first = new TenantMigrator([Current.Scripts[0]]);
            await using (var then = new InsightsFactory(settings, services: s => s.AddSingleton(first)))
            {
                await CreateAsync(then, old);
            }

            await using var connections = new TenantDatabases(new CatalogDatabase(Db), database.ConnectionString, laneCount: 1, lanePoolSize: 2);
            for (var release = 2; release <= Current.Scripts.Count; release++)
            {
                var runner = new TenantMigrationRunner(connections, new TenantMigrator([.. Current.Scripts.Take(release)]), null, NullLogger<TenantMigrationRunner>.Instance);
                var run = await runner.RunAsync("test", null, CancellationToken.None);
                if (run.Status != "succeeded" || run.Succeeded != 1)
                {
                    throw new InvalidOperationException($"Migrating to {Current.Scripts[release - 1].Name}: run {run.Status}, {run.Succeeded} succeeded.");
                }
            }

            var fresh = InsightsFixture.NewTenantId("baseline");
            await using (var now = new InsightsFactory(settings))
            {
                await CreateAsync(now, fresh);
            }

            Migrated = SchemaName.ForTenant(old);
            Provisioned = SchemaName.ForTenant(fresh);
        }

        public async Task DisposeAsync()
        {
            await Db.DisposeAsync();
            await database.DisposeAsync();
            await authority.DisposeAsync();
        }

        private async Task CreateAsync(InsightsFactory host, string id)
        {
            using var admin = host.ClientWithToken(authority.AdminToken());
            var response = await admin.PostAsJsonAsync("/api/v1/tenants", new { id, name = id });
            if (response.StatusCode != HttpStatusCode.Created)
            {
                throw new InvalidOperationException($"Provisioning {id} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            }
        }
    }
}
