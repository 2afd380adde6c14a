namespace Insights.Tenancy;

/// <summary>On a worker's start, migrates tenants behind the latest migration without waiting for an admin.</summary>
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
