using Microsoft.Extensions.Options;
using Npgsql;

namespace Insights.Database;

internal static class DatabaseSetup
{
    public static void AddInsightsDatabase(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<DatabaseOptions>().BindConfiguration(DatabaseOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<ConnectionStringCheck>().ValidateOnStart();
        services.AddSingleton<IValidateOptions<ConnectionStringCheck>, ConnectionStringValidator>();

        services.AddSingleton(provider =>
        {
            var connectionString = provider.GetRequiredService<IConfiguration>().GetConnectionString(DatabaseOptions.ConnectionStringName);
            var dataSource = new NpgsqlDataSourceBuilder(connectionString);
            dataSource.UseLoggerFactory(provider.GetRequiredService<ILoggerFactory>());
            return dataSource.Build();
        });

        services.AddSingleton<CatalogMigrator>();
        services.AddHostedService<CatalogMigrationService>();
    }

    /// <summary>A marker so the connection string is validated with the other settings at start.</summary>
    internal sealed class ConnectionStringCheck;

    private sealed class ConnectionStringValidator(IConfiguration configuration) : IValidateOptions<ConnectionStringCheck>
    {
        public ValidateOptionsResult Validate(string? name, ConnectionStringCheck options)
        {
            const string setting = "ConnectionStrings:" + DatabaseOptions.ConnectionStringName;
            var value = configuration.GetConnectionString(DatabaseOptions.ConnectionStringName);
            if (string.IsNullOrWhiteSpace(value))
            {
                return ValidateOptionsResult.Fail($"Setting '{setting}' is required (a PostgreSQL connection string).");
            }

            try
            {
                var parsed = new NpgsqlConnectionStringBuilder(value);
                if (string.IsNullOrWhiteSpace(parsed.Host))
                {
                    return ValidateOptionsResult.Fail($"Setting '{setting}' names no Host.");
                }
            }
            catch (ArgumentException e)
            {
                return ValidateOptionsResult.Fail($"Setting '{setting}' is not a valid PostgreSQL connection string: {e.Message}");
            }

            return ValidateOptionsResult.Success;
        }
    }
}
