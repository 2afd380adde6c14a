using System.Reflection;
using DbUp;
using DbUp.Engine.Output;
using DbUp.Postgresql;

namespace Insights.Database;

/// <summary>
/// Applies <c>migrations/catalog</c> (journal <c>catalog.schema_migrations</c>), then <c>migrations/store</c> to every
/// store, <c>main</c> included (journal <c>insights_store.schema_migrations</c>); the host then runs every
/// <see cref="IAfterCatalogMigration"/>. A session advisory lock per database lets instances that start together
/// apply each script once. No tenant schema is visited: the work is per database.
/// </summary>
public sealed class CatalogMigrator(CatalogDatabase dataSource, TenantDatabases connections, ILogger<CatalogMigrator> logger)
{
    /// <summary>Advisory lock key of catalog migrations ("insights catalog").</summary>
    private const long LockKey = 0x696E73_6361746CL;

    /// <summary>Advisory lock key of a store's migrations ("insights store").</summary>
    private const long StoreLockKey = 0x696E73_73746F72L;

    /// <summary>The schema of what a store keeps about its tenant schemas (<c>migrations/store</c>).</summary>
    public const string StoreSchema = "insights_store";

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await ApplyAsync(dataSource, "catalog", "migrations/catalog/", LockKey, "Catalog migration", cancellationToken);
        foreach (var store in connections.StoreNames)
        {
            await ApplyAsync(connections.StoreWide(store), StoreSchema, "migrations/store/", StoreLockKey, $"Migration of tenant store '{store}'", cancellationToken);
        }
    }

    private async Task ApplyAsync(
        PostgresDatabase database, string schema, string resourcePrefix, long lockKey, string what, CancellationToken cancellationToken)
    {
        await using var lockConnection = await database.OpenConnectionAsync(cancellationToken);
        await using (var command = new NpgsqlCommand("SELECT pg_advisory_lock($1)", lockConnection))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = lockKey });
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        try
        {
            await using (var command = new NpgsqlCommand($"CREATE SCHEMA IF NOT EXISTS {schema}", lockConnection))
            {
                await command.ExecuteNonQueryAsync(cancellationToken);
            }

            var upgrader = DeployChanges.To
                // The data source, not its ConnectionString, which omits the password (Persist Security Info).
                .PostgresqlDatabase(new PostgresqlConnectionManager(database.DataSource))
                .WithScriptsEmbeddedInAssembly(Assembly.GetExecutingAssembly(), name => name.StartsWith(resourcePrefix, StringComparison.Ordinal))
                .JournalToPostgresqlTable(schema, "schema_migrations")
                .WithTransactionPerScript()
                .WithVariablesDisabled()
                .LogTo(new UpgradeLog(logger))
                .Build();

            var result = upgrader.PerformUpgrade();
            if (!result.Successful)
            {
                throw new InvalidOperationException($"{what} '{result.ErrorScript?.Name}' failed: {result.Error?.Message}", result.Error);
            }
        }
        finally
        {
            await using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock($1)", lockConnection);
            unlock.Parameters.Add(new NpgsqlParameter { Value = lockKey });
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
