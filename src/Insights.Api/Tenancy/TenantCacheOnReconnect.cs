namespace Insights.Tenancy;

/// <summary>
/// Keeps the node's tenant cache current from PostgreSQL's change notifications, and drops it whole when the bus comes
/// back after an outage: a broker that restarted lost the node's queue of changes.
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
