using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Insights.FleetHealth;

internal static class FleetHealthSetup
{
    public static void AddFleetHealth(this WebApplicationBuilder builder, RoleOptions roles)
    {
        var services = builder.Services;
        services.AddOptions<FleetHealthOptions>().BindConfiguration(FleetHealthOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<TenantActivity>();
        services.AddSingleton<SmartLink.IQueueActivity>(provider => provider.GetRequiredService<TenantActivity>());
        services.AddSingleton<Tenancy.ITenantLifecycle, FleetHealthTenantLifecycle>();
        services.AddSingleton<FleetHealthView>();
        services.AddSingleton<TenantUsageReader>();

        // Every role does queue work (the api receives, acks and enqueues; workers enqueue), so every node flushes.
        services.AddSingleton<TenantHealthFlusher>();
        services.AddHostedService(provider => provider.GetRequiredService<TenantHealthFlusher>());
        if (roles.Scheduler)
        {
            services.AddSingleton<CatalogGauges>();
            services.AddSingleton<TenantHealthReconciler>();
            services.AddHostedService(provider => provider.GetRequiredService<TenantHealthReconciler>());
        }
    }

    /// <summary>Builds the catalog gauges (on scheduler nodes) so they exist before the first collection.</summary>
    public static void StartCatalogGauges(this WebApplication app) => app.Services.GetService<CatalogGauges>();
}
