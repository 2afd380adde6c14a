using Microsoft.EntityFrameworkCore;

namespace Insights.Database;

internal static class DatabaseSetup
{
    /// <summary>
    /// Statements a connection keeps prepared unless the connection string says otherwise, so hot statements skip
    /// parsing and planning; it bounds the plans a backend holds, not the tenants served
    /// (docs/decisions/0004-bounded-auto-prepare-no-reset-on-close.md).
    /// </summary>
    public const int DefaultMaxAutoPrepare = 32;

    // No Reset On Close by default: the reset costs statements at every use. Safe only because no code leaves session
    // state: settings are transaction-local, temporary tables drop at commit, session advisory locks are released in
    // finally blocks, the listener unlistens (docs/decisions/0004-bounded-auto-prepare-no-reset-on-close.md).

    /// <summary>Sets the defaults above where the configured <paramref name="given"/> leaves them out.</summary>
    public static void ApplyDefaults(NpgsqlConnectionStringBuilder builder, string given)
    {
        var settings = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = given };
        if (!settings.ContainsKey("Max Auto Prepare") && !settings.ContainsKey("MaxAutoPrepare"))
        {
            builder.MaxAutoPrepare = DefaultMaxAutoPrepare;
        }

        if (!settings.ContainsKey("No Reset On Close") && !settings.ContainsKey("NoResetOnClose"))
        {
            builder.NoResetOnClose = true;
        }
    }

    /// <summary>
    /// Loads PostgreSQL's types from the system schemas and <c>public</c> only: every tenant table adds types that the
    /// service never reads, and loading them all cost each data source time at every node start
    /// (docs/decisions/0018-load-system-types-only.md).
    /// </summary>
    public static void LoadSystemTypesOnly(NpgsqlDataSourceBuilder builder) =>
        builder.ConfigureTypeLoading(types => types.SetTypeLoadingSchemas(["public"]));

    /// <summary>The catalog's <c>application_name</c>: the configured one (or "insights") + "-catalog".</summary>
    public static string CatalogName(string connectionString) =>
        (new NpgsqlConnectionStringBuilder(connectionString).ApplicationName is { Length: > 0 } given ? given : "insights") + "-catalog";

    public static void AddInsightsDatabase(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<DatabaseOptions>().BindConfiguration(DatabaseOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<ConnectionStringCheck>().ValidateOnStart();
        services.AddSingleton<IValidateOptions<ConnectionStringCheck>, ConnectionStringValidator>();

        services.AddSingleton(provider =>
        {
            var connectionString = provider.GetRequiredService<IConfiguration>().GetConnectionString(DatabaseOptions.ConnectionStringName);
            var failure = ConnectionStringValidator.Check(connectionString);
            if (failure is not null)
            {
                // Services that need the database may be built before the start-up validation runs.
                throw new OptionsValidationException(DatabaseOptions.ConnectionStringName, typeof(ConnectionStringCheck), [failure]);
            }

            return CatalogDatabase.Create(connectionString!, provider.GetRequiredService<ILoggerFactory>());
        });

        // Catalog work keeps taking the data source above; tenant work takes its connections from here.
        services.AddSingleton(provider =>
        {
            var options = provider.GetRequiredService<IOptions<DatabaseOptions>>().Value;
            var (stores, failure) = TenantStoreSettings.Read(provider.GetRequiredService<IConfiguration>());
            if (failure is not null)
            {
                throw new OptionsValidationException(TenantStoreSettings.Section, typeof(ConnectionStringCheck), [failure]);
            }

            return new TenantDatabases(
                provider.GetRequiredService<CatalogDatabase>(), stores, options.Lanes, options.LanePoolSize,
                provider.GetRequiredService<ILoggerFactory>());
        });

        services.AddSingleton<ConnectionPoolGuard>();
        services.AddHostedService(provider => provider.GetRequiredService<ConnectionPoolGuard>());
        services.AddSingleton<DatabaseNotifications>();
        services.AddHostedService(provider => provider.GetRequiredService<DatabaseNotifications>());
        services.AddPooledDbContextFactory<CatalogDbContext>((provider, options) =>
            CatalogContexts.Configure(options.UseNpgsql(provider.GetRequiredService<CatalogDatabase>().DataSource)));
        services.AddSingleton<CatalogContexts>();
        services.AddSingleton<CatalogMigrator>();
        services.AddHostedService<CatalogMigrationService>();
    }

    /// <summary>A marker so the connection string is validated with the other settings at start.</summary>
    internal sealed class ConnectionStringCheck;

    private sealed class ConnectionStringValidator(IConfiguration configuration) : IValidateOptions<ConnectionStringCheck>
    {
        public ValidateOptionsResult Validate(string? name, ConnectionStringCheck options)
        {
            var failure = Check(configuration.GetConnectionString(DatabaseOptions.ConnectionStringName))
                ?? TenantStoreSettings.Read(configuration).Failure;
            return failure is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failure);
        }

        public static string? Check(string? value)
        {
            const string setting = "ConnectionStrings:" + DatabaseOptions.ConnectionStringName;
            if (string.IsNullOrWhiteSpace(value))
            {
                return $"Setting '{setting}' is required (a PostgreSQL connection string).";
            }

            try
            {
                if (string.IsNullOrWhiteSpace(new NpgsqlConnectionStringBuilder(value).Host))
                {
                    return $"Setting '{setting}' names no Host.";
                }
            }
            catch (ArgumentException e)
            {
                return $"Setting '{setting}' is not a valid PostgreSQL connection string: {e.Message}";
            }

            return null;
        }
    }
}
