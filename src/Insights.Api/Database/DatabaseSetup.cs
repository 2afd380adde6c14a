using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Insights.Database;

internal static class DatabaseSetup
{
    /// <summary>
    /// Statements a connection keeps prepared, unless the connection string says otherwise. The hot statements (lease,
    /// ack, lookups) then skip parsing and planning, which is about a third of their database time. They are per tenant
    /// (the schema is in the text), so this bounds the plans each backend holds, not the tenants served.
    /// </summary>
    public const int DefaultMaxAutoPrepare = 32;

    // A pooled connection is not reset when it returns (No Reset On Close), unless the connection string says otherwise:
    // the reset is half a dozen statements before the next use, a quarter of the database time of a short lookup. Nothing
    // here leaves session state behind: settings are transaction-local (set_config(..., true)), temporary tables drop at
    // commit, session advisory locks are released in finally blocks, and the notification listener unlistens.

    /// <summary>Sets the defaults above on <paramref name="builder"/> where <paramref name="given"/> (the configured string) leaves them out.</summary>
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
    /// Loads PostgreSQL's types from the system schemas (and <c>public</c>, where extensions usually live) only. Every
    /// tenant table adds its row type and that type's array to <c>pg_type</c>, ~40,000 at 10,000 tenants, and a data
    /// source loads the types on its first connection: ~0.4 s of PostgreSQL each for the catalog's pool and every lane,
    /// at every start of a node, and the types kept in each data source's memory. The service reads and writes no type
    /// of a tenant schema as such.
    /// </summary>
    public static void LoadSystemTypesOnly(NpgsqlDataSourceBuilder builder) =>
        builder.ConfigureTypeLoading(types => types.SetTypeLoadingSchemas(["public"]));

    /// <summary>The <c>application_name</c> of the catalog's connections: the configured one (or <c>insights</c>) + <c>-catalog</c>.</summary>
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
