using Google.Apis.Auth.OAuth2;

namespace Insights.BigQuery;

public static class BigQuerySetup
{
    /// <summary>
    /// The service key of the <see cref="ITokenAccess"/> the client authenticates with; tests register a fixed token.
    /// </summary>
    public const string TokenAccessKey = "BigQuery";

    /// <summary>
    /// Registers <see cref="IBigQueryClient"/> as a typed HttpClient with its credential, and validates
    /// <c>BigQuery</c> at start when <paramref name="validate"/> is set (only when something uses BigQuery).
    /// </summary>
    public static IServiceCollection AddBigQueryClient(this IServiceCollection services, bool validate)
    {
        var options = services.AddOptions<BigQueryOptions>().BindConfiguration(BigQueryOptions.Section);
        if (validate)
        {
            services.AddSingleton<IValidateOptions<BigQueryOptions>, BigQueryOptionsValidator>();
            options.ValidateOnStart();
        }

        services.AddSingleton<BigQueryCredentials>();
        services.AddKeyedSingleton<ITokenAccess>(TokenAccessKey, (provider, _) => provider.GetRequiredService<BigQueryCredentials>());
        services.AddHttpClient<IBigQueryClient, BigQueryClient>((http, provider) =>
            {
                // Each attempt has its own timeout (BigQuery:HttpTimeoutSeconds), so a slow answer can be retried.
                http.Timeout = Timeout.InfiniteTimeSpan;
                return new BigQueryClient(
                    http,
                    provider.GetRequiredKeyedService<ITokenAccess>(TokenAccessKey),
                    provider.GetRequiredService<IOptions<BigQueryOptions>>(),
                    provider.GetRequiredService<ILogger<BigQueryClient>>());
            })
            // Connections are recycled, so a client held for a long time still follows DNS changes.
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) });
        return services;
    }
}
