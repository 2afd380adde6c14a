using Insights.Database;
using Insights.ServiceDefaults;
using MassTransit;
using Microsoft.Extensions.Options;

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
    /// Consumers every node runs, whatever its roles, each on an endpoint of its own. The queue outlives a lost connection
    /// (events published meanwhile wait in it) and expires ten minutes after its node is gone.
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

/// <summary>After a deployment brings new tenant migrations, a worker applies them to every tenant without waiting for an admin.</summary>
internal sealed class TenantMigrationOnStart(
    TenantMigrationRunner runner, IOptions<DatabaseOptions> options, IHostApplicationLifetime lifetime, ILogger<TenantMigrationOnStart> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.MigrateOnStart || !options.Value.MigrateTenantsOnStart)
        {
            return;
        }

        try
        {
            var status = await runner.ReadStatusAsync(stoppingToken);
            if (status.TenantsBehind > 0)
            {
                logger.LogInformation("{Count} tenant schemas are behind migration {Version}; migrating them", status.TenantsBehind, status.LatestVersion);
                await runner.StartAsync("startup", lifetime.ApplicationStopping);
            }
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException && !stoppingToken.IsCancellationRequested)
        {
            logger.LogWarning(e, "Could not check tenant migrations at start; use POST /api/v1/tenant-migrations");
        }
    }
}

/// <summary>
/// Keeps the node's tenant cache current: an entry goes when the tenant's change notification arrives (all of them when
/// the listening connection was lost meanwhile), and everything goes when the bus comes back after an outage (a change
/// announced while it was away may not reach it: a broker that restarted lost the node's queue with what was in it).
/// </summary>
internal sealed class TenantCacheOnReconnect(Messaging.BusMonitor bus, TenantDirectory directory, Database.DatabaseNotifications notifications)
    : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Changes committed anywhere evict at once; if the listening connection was lost, everything goes.
        notifications.Subscribe(TenantDirectory.Channel, directory.Evict, directory.EvictAll);
        bus.Reconnected += directory.EvictAll;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        bus.Reconnected -= directory.EvictAll;
        return Task.CompletedTask;
    }
}
