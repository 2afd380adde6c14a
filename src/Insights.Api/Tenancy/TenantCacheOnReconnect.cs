namespace Insights.Tenancy;

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
