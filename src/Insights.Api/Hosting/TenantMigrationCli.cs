using Insights.Tenancy;
using Microsoft.Extensions.Logging.Abstractions;

namespace Insights.Hosting;

/// <summary><c>migrate --tenants</c>: catalog migrations, then every tenant schema, with a progress bar.</summary>
internal static class TenantMigrationCli
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (!args.Contains("--tenants"))
        {
            Console.Error.WriteLine("usage: migrate --tenants");
            return 2;
        }

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
        builder.Configuration.AddShippedSettings(builder.Environment);
        var connectionString = builder.Configuration.GetConnectionString(DatabaseOptions.ConnectionStringName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            Console.Error.WriteLine($"Setting 'ConnectionStrings:{DatabaseOptions.ConnectionStringName}' is required.");
            return 2;
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };

        var (stores, badStores) = TenantStoreSettings.Read(builder.Configuration);
        if (badStores is not null)
        {
            Console.Error.WriteLine(badStores);
            return 2;
        }

        await using var dataSource = CatalogDatabase.Create(connectionString);
        var database = builder.Configuration.GetSection(DatabaseOptions.Section).Get<DatabaseOptions>() ?? new DatabaseOptions();
        await using var connections = new TenantDatabases(dataSource, stores, database.Lanes, database.LanePoolSize);
        await new CatalogMigrator(dataSource, connections, NullLogger<CatalogMigrator>.Instance).MigrateAsync(cancel.Token);
        var runner = new TenantMigrationRunner(connections, new TenantMigrator(), null, NullLogger<TenantMigrationRunner>.Instance);
        var progress = new ConsoleProgress();
        var run = await runner.RunAsync(Environment.UserName + "@cli", progress, cancel.Token);
        progress.Finish();

        Console.WriteLine($"Tenant migrations: {run.Succeeded} of {run.Total} tenants migrated, {run.Failed} failed ({run.Status}).");
        foreach (var failure in run.Failures)
        {
            Console.WriteLine($"  {failure.TenantId}: {failure.Error}");
        }

        return run.Failed == 0 && run.Status == "succeeded" ? 0 : 1;
    }

    private sealed class ConsoleProgress : IProgress<MigrationProgress>
    {
        private readonly Lock gate = new();
        private bool drawn;

        public void Report(MigrationProgress value)
        {
            lock (gate)
            {
                const int width = 30;
                var filled = value.Total == 0 ? width : value.Done * width / value.Total;
                var line = $"[{new string('#', filled)}{new string('.', width - filled)}] {value.Done}/{value.Total} tenants, {value.Failed} failed";
                Console.Error.Write(Console.IsErrorRedirected ? line + Environment.NewLine : "\r" + line);
                drawn = true;
            }
        }

        public void Finish()
        {
            if (drawn && !Console.IsErrorRedirected)
            {
                Console.Error.WriteLine();
            }
        }
    }
}
