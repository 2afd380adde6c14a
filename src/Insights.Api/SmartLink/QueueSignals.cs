using System.Collections.Concurrent;
using Insights.Database;
using Npgsql;

namespace Insights.SmartLink;

/// <summary>
/// Wakes long-polling receivers when a message is enqueued for their tenant, on this node or any other: enqueues send a
/// PostgreSQL notification (delivered at commit), and the node's listening connection fans it out to local waiters.
/// Receivers also hear of the leases taken on this node meanwhile, to wake when they expire. Nothing is kept for a
/// tenant that nobody on this node waits for.
/// </summary>
public sealed class QueueSignals
{
    public const string Channel = "insights_queue";

    private readonly ConcurrentDictionary<string, TaskCompletionSource> current = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource<DateTimeOffset>> leases = new(StringComparer.Ordinal);
    private readonly DatabaseNotifications notifications;

    public QueueSignals(DatabaseNotifications notifications)
    {
        this.notifications = notifications;
        // Anything enqueued while no connection listened would otherwise wait for the receivers' timeouts.
        notifications.Subscribe(Channel, Signal, SignalAll);
    }

    /// <summary>Completes once the node listens (tests use it to avoid racing the first notification).</summary>
    public Task Listening => notifications.Listening;

    public static Task NotifyAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string tenantId, CancellationToken cancellationToken) =>
        DatabaseNotifications.NotifyAsync(connection, transaction, Channel, tenantId, cancellationToken);

    /// <summary>
    /// The signal a receiver waits on. Take it <em>before</em> looking for messages: an enqueue committed after that
    /// look completes it.
    /// </summary>
    public Task Next(string tenantId) =>
        current.GetOrAdd(tenantId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>Completes with the expiry of the next lease taken on this node for the tenant. Take it before looking, too.</summary>
    public Task<DateTimeOffset> NextLease(string tenantId) =>
        leases.GetOrAdd(tenantId, _ => new TaskCompletionSource<DateTimeOffset>(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>A receive on this node leased messages of the tenant until <paramref name="expiresAt"/>.</summary>
    public void Leased(string tenantId, DateTimeOffset expiresAt)
    {
        if (leases.TryRemove(tenantId, out var waiters))
        {
            waiters.TrySetResult(expiresAt);
        }
    }

    public void Signal(string tenantId)
    {
        if (current.TryRemove(tenantId, out var waiters))
        {
            waiters.TrySetResult();
        }
    }

    private void SignalAll()
    {
        foreach (var tenantId in current.Keys)
        {
            Signal(tenantId);
        }
    }
}
