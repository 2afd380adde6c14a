using System.Reflection;
using DbUp;
using DbUp.Engine.Output;
using DbUp.Postgresql;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Insights.Database;

/// <summary>
/// Applies the numbered scripts of <c>migrations/catalog</c>, journaled in <c>catalog.schema_migrations</c>.
/// A session-level advisory lock makes two instances that start together apply them once.
/// </summary>
public sealed class CatalogMigrator(NpgsqlDataSource dataSource, ILogger<CatalogMigrator> logger)
{
    /// <summary>Advisory lock key of catalog migrations ("insights catalog").</summary>
    private const long LockKey = 0x696E73_6361746CL;

    private const string ResourcePrefix = "migrations/catalog/";

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var lockConnection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using (var command = new NpgsqlCommand("SELECT pg_advisory_lock($1)", lockConnection))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = LockKey });
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        try
        {
            await using (var command = new NpgsqlCommand("CREATE SCHEMA IF NOT EXISTS catalog", lockConnection))
            {
                await command.ExecuteNonQueryAsync(cancellationToken);
            }

            var upgrader = DeployChanges.To
                // The data source itself, not its ConnectionString: that one omits the password (Persist Security Info).
                .PostgresqlDatabase(new PostgresqlConnectionManager(dataSource))
                .WithScriptsEmbeddedInAssembly(Assembly.GetExecutingAssembly(), name => name.StartsWith(ResourcePrefix, StringComparison.Ordinal))
                .JournalToPostgresqlTable("catalog", "schema_migrations")
                .WithTransactionPerScript()
                .WithVariablesDisabled()
                .LogTo(new UpgradeLog(logger))
                .Build();

            var result = upgrader.PerformUpgrade();
            if (!result.Successful)
            {
                throw new InvalidOperationException(
                    $"Catalog migration '{result.ErrorScript?.Name}' failed: {result.Error?.Message}", result.Error);
            }
        }
        finally
        {
            await using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock($1)", lockConnection);
            unlock.Parameters.Add(new NpgsqlParameter { Value = LockKey });
            await unlock.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    private sealed class UpgradeLog(ILogger logger) : IUpgradeLog
    {
        // DbUp formats with string.Format placeholders, not message templates: format first, log the text.
        public void LogTrace(string format, params object[] args) => logger.LogTrace("{Message}", Format(format, args));
        public void LogDebug(string format, params object[] args) => logger.LogDebug("{Message}", Format(format, args));
        public void LogInformation(string format, params object[] args) => logger.LogInformation("{Message}", Format(format, args));
        public void LogWarning(string format, params object[] args) => logger.LogWarning("{Message}", Format(format, args));
        public void LogError(string format, params object[] args) => logger.LogError("{Message}", Format(format, args));
        public void LogError(Exception ex, string format, params object[] args) => logger.LogError(ex, "{Message}", Format(format, args));

        private static string Format(string format, object[] args) =>
            args.Length == 0 ? format : string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args);
    }
}

/// <summary>Brings the catalog up to date before the host serves anything, waiting a while for PostgreSQL.</summary>
internal sealed class CatalogMigrationService(
    CatalogMigrator migrator,
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
