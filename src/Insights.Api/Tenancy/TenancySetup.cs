using Insights.Database;
using Insights.Hosting;
using MassTransit;
using Microsoft.Extensions.Options;

namespace Insights.Tenancy;

internal static class TenancySetup
{
    public static void AddTenancy(this WebApplicationBuilder builder, RoleOptions roles)
    {
        var services = builder.Services;
        if (roles.Worker)
        {
            services.AddHostedService<TenantMigrationOnStart>();
        }

        services.AddScoped<TenantContext>();
        services.AddSingleton<TenantDirectory>();
        services.AddSingleton<TenantMigrator>();
        services.AddSingleton<TenantStore>();
        services.AddSingleton<TenantUsageReader>();
        services.AddSingleton(provider => new TenantMigrationRunner(
            provider.GetRequiredService<Npgsql.NpgsqlDataSource>(),
            provider.GetRequiredService<TenantMigrator>(),
            provider.GetRequiredService<TenantDirectory>(),
            provider.GetRequiredService<ILogger<TenantMigrationRunner>>()));
    }

    /// <summary>Consumers every node runs, whatever its roles, each on a temporary endpoint of its own.</summary>
    public static void AddNodeConsumers(IBusRegistrationConfigurator bus) =>
        bus.AddConsumer<TenantChangedConsumer>().Endpoint(e =>
        {
            e.InstanceId = "-" + Guid.NewGuid().ToString("N")[..12];
            e.Temporary = true;
        });
}

/// <summary>After a deployment brings new tenant migrations, a worker applies them to every tenant without waiting for an admin.</summary>
internal sealed class TenantMigrationOnStart(
    TenantMigrationRunner runner, IOptions<DatabaseOptions> options, IHostApplicationLifetime lifetime, ILogger<TenantMigrationOnStart> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.MigrateOnStart || !options.Value.MigrateTenantsOnStart)
        {
            return;
        }

        try
        {
            var status = await runner.ReadStatusAsync(stoppingToken);
            if (status.TenantsBehind > 0)
            {
                logger.LogInformation("{Count} tenant schemas are behind migration {Version}; migrating them", status.TenantsBehind, status.LatestVersion);
                await runner.StartAsync("startup", lifetime.ApplicationStopping);
            }
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException && !stoppingToken.IsCancellationRequested)
        {
            logger.LogWarning(e, "Could not check tenant migrations at start; use POST /api/v1/tenant-migrations");
        }
    }
}
