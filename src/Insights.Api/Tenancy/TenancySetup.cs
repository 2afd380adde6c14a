using MassTransit;

namespace Insights.Tenancy;

internal static class TenancySetup
{
    public static void AddTenancy(this WebApplicationBuilder builder, RoleOptions roles)
    {
        var services = builder.Services;
        if (roles.Worker)
        {
            services.AddHostedService<TenantMigrationOnStart>();
        }

        services.AddSingleton(new Messaging.OutboxMessageType(typeof(TenantChanged)));
        services.AddSingleton(new Messaging.OutboxMessageType(typeof(TenantProvisioned)));
        services.AddScoped<TenantContext>();
        services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationHandler, TenantAuthorizationHandler>();
        services.AddSingleton<TenantDirectory>();
        services.AddSingleton<IAfterCatalogMigration, StoreRegistration>();
        services.AddSingleton<TenantMigrator>();
        services.AddSingleton<TenantCatalog>();
        services.AddSingleton<StoreCatalog>();
        services.AddSingleton<TenantMover>();
        services.AddHostedService(provider => provider.GetRequiredService<TenantMover>());
        services.AddSingleton(provider => new TenantMigrationRunner(
            provider.GetRequiredService<Insights.Database.TenantDatabases>(),
            provider.GetRequiredService<TenantMigrator>(),
            provider.GetRequiredService<TenantDirectory>(),
            provider.GetRequiredService<ILogger<TenantMigrationRunner>>()));
        services.AddHostedService<TenantCacheOnReconnect>();
    }

    /// <summary>
    /// Consumers every node runs, whatever its roles, each on an endpoint of its own. The queue outlives a lost
    /// connection (events published meanwhile wait in it) and expires ten minutes after its node is gone.
    /// </summary>
    public static void AddNodeConsumers(IBusRegistrationConfigurator bus) =>
        bus.AddConsumer<TenantChangedConsumer>().Endpoint(e =>
        {
            e.InstanceId = "-" + Guid.NewGuid().ToString("N")[..12];
            e.AddConfigureEndpointCallback(endpoint =>
            {
                if (endpoint is IRabbitMqReceiveEndpointConfigurator rabbit)
                {
                    // Durable: MassTransit declares a non-durable queue with an expiry as exclusive, and an exclusive
                    // queue goes with its connection, losing the events published before the node declares it again.
                    // With an expiry, auto-delete applies to the node's exchange only: it goes when its queue expires.
                    rabbit.Durable = true;
                    rabbit.AutoDelete = true;
                    rabbit.QueueExpiration = TimeSpan.FromMinutes(10);
                }
            });
        });
}
