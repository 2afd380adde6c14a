using FluentValidation;
using Insights.Audit;
using Insights.FleetHealth;
using Insights.Ingestion;
using Insights.InsightModels;
using Insights.Messaging;
using Insights.OnlineInsights;
using Insights.SmartLink;
using Insights.Tenancy;
using Microsoft.Extensions.Configuration.Json;

namespace Insights.Hosting;

/// <summary>The host's composition: each capability registers itself here.</summary>
public static class InsightsExtensions
{
    public static WebApplicationBuilder AddInsights(this WebApplicationBuilder builder)
    {
        builder.Configuration.AddShippedSettings(builder.Environment);
        var roles = RoleOptions.Parse(builder.Configuration[RoleOptions.SettingName]);
        builder.Services.AddSingleton(roles);

        builder.Services.AddOptions<HttpOptions>().BindConfiguration(HttpOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<RejectedRequests>();
        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            var http = context.Configuration.GetSection(HttpOptions.Section).Get<HttpOptions>() ?? new HttpOptions();
            kestrel.Limits.MaxRequestBodySize = http.MaxRequestBodyBytes;
            kestrel.Limits.MaxRequestLineSize = http.MaxRequestLineBytes;
            kestrel.Limits.MaxRequestHeadersTotalSize = http.MaxRequestHeadersBytes;
            kestrel.Limits.MaxRequestHeaderCount = http.MaxRequestHeaderCount;
            kestrel.ConfigureEndpointDefaults(RejectedRequests.Attach);
        });

        builder.Services.AddInsightsProblems();
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            StrictJson.Apply(o.SerializerOptions);
            o.SerializerOptions.Converters.Add(new UtcTimestampConverter());
        });
        builder.Services.AddValidatorsFromAssemblyContaining<HttpOptions>(includeInternalTypes: true);
        builder.AddInsightsOpenApi();
        builder.Services.AddInsightsHealth();
        builder.Services.AddMemoryCache();
        builder.AddInsightsTelemetry(roles);

        builder.AddInsightsDatabase();
        builder.AddInsightsAuth();
        builder.AddAudit(roles);
        builder.AddTenancy(roles);
        builder.AddSmartLink(roles);
        builder.AddFleetHealth(roles);
        builder.AddIngestion(roles);
        builder.AddInsightSource();
        builder.AddInsightModels();
        builder.AddOnlineInsights(roles);
        builder.AddInsightsBus(roles, TenancySetup.AddNodeConsumers, IngestionSetup.AddConsumers, OnlineInsightsSetup.AddConsumers);
        return builder;
    }

    public static WebApplication MapInsights(this WebApplication app)
    {
        var roles = app.Services.GetRequiredService<RoleOptions>();
        app.Logger.LogInformation("Insights starting with roles {Roles} in {Environment}", roles.ToString(), app.Environment.EnvironmentName);

        app.UseExceptionHandler();
        app.UseInsightsMetricsPort();
        app.UseStatusCodePages();
        app.UseMiddleware<RequestBodyLimitMiddleware>();
        app.UseInsightsOpenApi();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseMiddleware<InputGuardMiddleware>();
        app.UseRateLimiter();
        app.UseMiddleware<TenantLogScopeMiddleware>();

        app.MapInsightsHealth();
        app.StartCatalogGauges();
        app.MapInsightsTelemetry();
        if (roles.Api)
        {
            var api = app.MapGroup("/api/v1");
            api.MapTenantsApi().MapTenantUsageApi();
            api.MapStoresApi();
            api.MapTenantMigrationsApi();
            api.MapInsightModelsApi();
            api.MapSmartLinkApi();
            api.MapMessagesApi();
            api.MapInsightDefinitionsApi();
            api.MapIngestionApi();
            api.MapIngestionSweepsApi();
            api.MapFleetHealthApi();
            api.MapOnlineInsightsApi();
            api.MapAuditApi();
        }

        return app;
    }

    /// <summary>
    /// The repository keeps one <c>appsettings.json</c> at its root and the host ships a copy beside its assembly.
    /// When the content root has none (a test host, a run from another folder), the shipped copy is the base layer,
    /// below environment variables and the command line.
    /// </summary>
    public static void AddShippedSettings(this IConfigurationBuilder configuration, IHostEnvironment environment) =>
        configuration.AddShippedSettings(environment.ContentRootPath);

    /// <inheritdoc cref="AddShippedSettings(IConfigurationBuilder, IHostEnvironment)"/>
    public static void AddShippedSettings(this IConfigurationBuilder configuration, string contentRootPath)
    {
        if (File.Exists(Path.Combine(contentRootPath, "appsettings.json")))
        {
            return;
        }

        var shipped = Path.Combine(AppContext.BaseDirectory, "appsettings.json");
        if (!File.Exists(shipped))
        {
            return;
        }

        var source = new JsonConfigurationSource { Path = shipped, Optional = false, ReloadOnChange = false };
        source.ResolveFileProvider();
        configuration.Sources.Insert(0, source);
    }
}
