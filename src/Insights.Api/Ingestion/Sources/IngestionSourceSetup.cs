using Insights.BigQuery;

namespace Insights.Ingestion;

public static class IngestionSourceSetup
{
    /// <summary>
    /// Registers <see cref="IInsightSource"/> as chosen by <c>Ingestion:Source</c>: <see cref="LocalInsightSource"/>
    /// (default) or <see cref="BigQueryInsightSource"/> with the BigQuery client, whose settings are then validated at
    /// start. The BigQuery source is transient: resolve it for each run rather than holding it.
    /// </summary>
    public static WebApplicationBuilder AddInsightSource(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<InsightSourceOptions>().BindConfiguration(InsightSourceOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<InsightSourceOptions>, InsightSourceOptionsValidator>();

        var selected = builder.Configuration.GetSection(InsightSourceOptions.Section).Get<InsightSourceOptions>() ?? new InsightSourceOptions();
        services.AddBigQueryClient(validate: selected.UsesBigQuery);
        if (selected.UsesBigQuery)
        {
            services.AddTransient<BigQueryInsightSource>();
            services.AddTransient<IInsightSource>(provider => provider.GetRequiredService<BigQueryInsightSource>());
        }
        else
        {
            services.AddSingleton(provider => new LocalInsightSource(
                LocalInsightSource.ResolveFolder(
                    provider.GetRequiredService<IOptions<InsightSourceOptions>>().Value.Local.Folder,
                    provider.GetRequiredService<IHostEnvironment>().ContentRootPath),
                provider.GetRequiredService<ILogger<LocalInsightSource>>()));
            services.AddSingleton<IInsightSource>(provider => provider.GetRequiredService<LocalInsightSource>());
        }

        return builder;
    }
}
