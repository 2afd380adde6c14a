using Insights.Messaging;
using MassTransit;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Insights.Ingestion;

internal static class IngestionSetup
{
    public static void AddIngestion(this WebApplicationBuilder builder, RoleOptions roles)
    {
        var services = builder.Services;
        services.AddOptions<IngestionRunOptions>().BindConfiguration(IngestionRunOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<InsightDefinitionCatalog>();
        services.AddSingleton<IngestionRuns>();
        services.AddSingleton<IngestionTrigger>();
        services.AddSingleton<Tenancy.ITenantLifecycle, IngestionTenantLifecycle>();
        services.AddSingleton<IngestionRunRetention>();
        services.AddSingleton(new OutboxMessageType(typeof(StartIngestion)));
        services.AddSingleton(new OutboxMessageType(typeof(StartSweep)));
        services.AddSingleton<FleetSweepTrigger>();
        services.AddSingleton<FleetSweeps>();
        services.AddScoped<FleetSweepRunner>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddScoped<IngestionRunner>();
        services.AddSingleton<IngestionRunsInFlight>();
        services.AddHostedService(provider => provider.GetRequiredService<IngestionRunsInFlight>());
        if (roles.Scheduler)
        {
            services.AddHostedService<IngestionScheduler>();
            services.AddHostedService<IngestionRunReaper>();
        }
    }

    /// <summary>Consumers of the ingestion capability (worker role).</summary>
    public static void AddConsumers(IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<StartIngestionConsumer, StartIngestionConsumerDefinition>();
        bus.AddConsumer<FirstIngestionConsumer>();
        bus.AddConsumer<StartSweepConsumer, StartSweepConsumerDefinition>();
    }
}
