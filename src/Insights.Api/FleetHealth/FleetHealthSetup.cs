using Insights.Hosting;
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
        services.AddSingleton<FleetHealthView>();

        // Every role does queue work (receives and acks on the api, enqueues on workers and the api), so every node flushes.
        services.AddSingleton<TenantHealthFlusher>();
        services.AddHostedService(provider => provider.GetRequiredService<TenantHealthFlusher>());
        if (roles.Scheduler)
        {
            services.AddSingleton<TenantHealthReconciler>();
            services.AddHostedService(provider => provider.GetRequiredService<TenantHealthReconciler>());
        }
    }
}
