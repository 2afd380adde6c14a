using System.Collections.Concurrent;

namespace Insights.SmartLink;

/// <summary>
/// Wakes long-polling receivers when a message is enqueued for their tenant on any node (a notification at commit),
/// or when a lease taken on this node expires. It also remembers, per tenant, the last receive that found nothing
/// visible, so idle polls need no statement until a notification, a gap, or the next visible time
/// (docs/decisions/0014-receive-looks-before-it-leases.md).
/// </summary>
public sealed class QueueSignals
{
    public const string Channel = "insights_queue";

    /// <summary>How long the node trusts what a receive found before it looks again anyway.</summary>
    private static readonly TimeSpan IdleKnowledgeLimit = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How often receives answered from that knowledge are reported to the fleet health view: an idle client's last
    /// receive shows at most this late, and idle clients do not write a row at every poll.
    /// </summary>
    public static readonly TimeSpan IdleReceiveReportInterval = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<string, TaskCompletionSource> current = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource<DateTimeOffset>> leases = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Idle> idle = new(StringComparer.Ordinal);
    private readonly DatabaseNotifications notifications;
    private readonly TimeProvider time;

    public QueueSignals(DatabaseNotifications notifications, TimeProvider? time = null)
    {
        this.notifications = notifications;
        this.time = time ?? TimeProvider.System;
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

    /// <summary>
    /// Completes with the expiry of the next lease taken on this node for the tenant. Take it before looking, too.
    /// </summary>
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

    /// <summary>
    /// A look or lease that began after <paramref name="enqueued"/> was taken (<see cref="Next"/>) found nothing
    /// visible; the next message becomes visible at <paramref name="nextVisibleAt"/> (null: none waits).
    /// </summary>
    public void FoundNothing(string tenantId, Task enqueued, DateTimeOffset? nextVisibleAt)
    {
        if (!enqueued.IsCompleted)
        {
            var now = time.GetUtcNow();
            idle[tenantId] = new Idle(enqueued, nextVisibleAt, now + IdleKnowledgeLimit) { ReportedAt = now };
        }
    }

    /// <summary>
    /// Whether nothing of the tenant can be visible now without a statement telling: a receive found nothing after
    /// <paramref name="enqueued"/> was taken, no notification of the tenant (nor a gap) came since, and the next
    /// message it knew of is not visible yet. <paramref name="nextVisibleAt"/>: when that one becomes visible;
    /// <paramref name="report"/>: whether this receive is one to report (<see cref="IdleReceiveReportInterval"/>).
    /// </summary>
    public bool KnowsNothingVisible(string tenantId, Task enqueued, out DateTimeOffset? nextVisibleAt, out bool report)
    {
        nextVisibleAt = null;
        report = false;
        if (!idle.TryGetValue(tenantId, out var known))
        {
            return false;
        }

        var now = time.GetUtcNow();
        if (!ReferenceEquals(known.Enqueued, enqueued) || enqueued.IsCompleted || !notifications.Listens
            || now >= known.Until || known.NextVisibleAt <= now)
        {
            idle.TryRemove(KeyValuePair.Create(tenantId, known));
            return false;
        }

        nextVisibleAt = known.NextVisibleAt;
        lock (known)
        {
            if (now - known.ReportedAt >= IdleReceiveReportInterval)
            {
                known.ReportedAt = now;
                report = true;
            }
        }

        return true;
    }

    public void Signal(string tenantId)
    {
        idle.TryRemove(tenantId, out _);
        if (current.TryRemove(tenantId, out var waiters))
        {
            waiters.TrySetResult();
        }
    }

    private void SignalAll()
    {
        idle.Clear();
        foreach (var tenantId in current.Keys)
        {
            Signal(tenantId);
        }
    }

    private sealed record Idle(Task Enqueued, DateTimeOffset? NextVisibleAt, DateTimeOffset Until)
    {
        /// <summary>The tenant's last receive reported to the fleet health view (under the record's lock).</summary>
        public DateTimeOffset ReportedAt { get; set; }
    }
}
