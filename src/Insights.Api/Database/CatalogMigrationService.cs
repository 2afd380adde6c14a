namespace Insights.Database;

/// <summary>Brings the catalog up to date before the host serves anything, waiting a while for PostgreSQL.</summary>
internal sealed class CatalogMigrationService(
    CatalogMigrator migrator,
    IEnumerable<IAfterCatalogMigration> after,
    IOptions<DatabaseOptions> options,
    ILogger<CatalogMigrationService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.MigrateOnStart)
        {
            return;
        }

        var deadline = DateTime.UtcNow.AddSeconds(options.Value.StartupWaitSeconds);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await migrator.MigrateAsync(cancellationToken);
                foreach (var work in after)
                {
                    await work.RunAsync(cancellationToken);
                }

                return;
            }
            catch (NpgsqlException e) when (e.IsTransient && DateTime.UtcNow < deadline)
            {
                logger.LogWarning("PostgreSQL is not answering yet (attempt {Attempt}): {Reason}", attempt, e.Message);
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(attempt, 5)), cancellationToken);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
