using System.Collections.Concurrent;
using Insights.Tenancy;

namespace Insights.FleetHealth;

/// <summary>
/// What this node's queue work did to each tenant since the last flush, held in memory: count deltas and times. Only
/// tenants touched since the last flush have an entry, so it is bounded by activity, and recording is a lock on the
/// tenant's own entry: no statement. <see cref="TenantHealthFlusher"/> takes the entries and writes them to
/// <c>catalog.tenant_health</c> in one statement.
/// </summary>
public sealed class TenantActivity(TimeProvider time) : SmartLink.IQueueActivity
{
    private ConcurrentDictionary<string, Entry> pending = new(StringComparer.Ordinal);

    /// <summary>Tenants with something to flush.</summary>
    public int Count => Volatile.Read(ref pending).Count;

    /// <summary>Messages committed to the tenant's queue (after the commit: their visible time is then).</summary>
    public void Enqueued(string tenantId, int messages)
    {
        if (messages > 0)
        {
            var now = time.GetUtcNow();
            Record(tenantId, e =>
            {
                e.Ready += messages;
                e.Visible(now);
            });
        }
    }

    /// <summary>
    /// A receive that ran its statement at <paramref name="startedAt"/>: <paramref name="leased"/> leased, of which
    /// <paramref name="expired"/> had a lease that ran out, <paramref name="dead"/> dead-lettered. Fewer picked than
    /// <paramref name="max"/> means nothing visible was left; a full batch means what is left was enqueued after the
    /// newest one leased (<paramref name="newestLeasedEnqueuedAt"/>).
    /// </summary>
    public void Received(string tenantId, DateTimeOffset startedAt, int max, int leased, int expired, int dead, DateTimeOffset? newestLeasedEnqueuedAt)
    {
        Record(tenantId, e =>
        {
            e.Ready -= leased + dead - expired;
            e.Leased += leased - expired;
            e.Dead += dead;
            e.LastReceiveAt = Later(e.LastReceiveAt, startedAt);
            if (leased + dead < max)
            {
                e.Drained(startedAt);
            }
            else if (newestLeasedEnqueuedAt is { } newest)
            {
                e.ClearedThrough = Later(e.ClearedThrough, newest);
            }
        });
    }

    /// <summary>A look before a receive found nothing visible.</summary>
    public void FoundNothing(string tenantId, DateTimeOffset startedAt) =>
        Record(tenantId, e =>
        {
            e.LastReceiveAt = Later(e.LastReceiveAt, startedAt);
            e.Drained(startedAt);
        });

    public void Acked(string tenantId, int messages)
    {
        if (messages > 0)
        {
            var now = time.GetUtcNow();
            Record(tenantId, e =>
            {
                e.Leased -= messages;
                e.LastAckAt = Later(e.LastAckAt, now);
            });
        }
    }

    /// <summary>A delivery failed by the client: dead-lettered, or ready again (visible after the delay).</summary>
    public void Nacked(string tenantId, bool requeued, int delaySeconds)
    {
        var now = time.GetUtcNow();
        Record(tenantId, e =>
        {
            e.Leased--;
            if (requeued)
            {
                e.Ready++;
                e.Visible(now.AddSeconds(delaySeconds));
            }
            else
            {
                e.Dead++;
            }
        });
    }

    /// <summary>Dead messages moved back to ready by an admin.</summary>
    public void Redriven(string tenantId, int messages)
    {
        if (messages > 0)
        {
            var now = time.GetUtcNow();
            Record(tenantId, e =>
            {
                e.Dead -= messages;
                e.Ready += messages;
                e.Visible(now);
            });
        }
    }

    /// <summary>Protheus reported a message it failed to process (<c>InsightProcessingStatus</c>, failed).</summary>
    public void ProcessingFailed(string tenantId)
    {
        var hour = Hour(time.GetUtcNow());
        Record(tenantId, e => e.Failures[hour] = e.Failures.GetValueOrDefault(hour) + 1);
    }

    /// <summary>Takes every entry recorded so far; recording goes on into fresh ones.</summary>
    public List<Snapshot> Take()
    {
        var taken = Interlocked.Exchange(ref pending, new ConcurrentDictionary<string, Entry>(StringComparer.Ordinal));
        var snapshots = new List<Snapshot>(taken.Count);
        foreach (var (tenantId, entry) in taken)
        {
            lock (entry)
            {
                // A recorder that got this entry before the exchange finds it closed under the lock, and retries.
                entry.Closed = true;
                snapshots.Add(entry.ToSnapshot(tenantId));
            }
        }

        return snapshots;
    }

    /// <summary>Gives back what a flush could not write, to go with the next one.</summary>
    public void Restore(IEnumerable<Snapshot> snapshots)
    {
        foreach (var s in snapshots)
        {
            Record(s.TenantId, e => e.Merge(s));
        }
    }

    internal static DateTimeOffset Hour(DateTimeOffset at) => new(at.Year, at.Month, at.Day, at.Hour, 0, 0, TimeSpan.Zero);

    private void Record(string tenantId, Action<Entry> change)
    {
        while (true)
        {
            var entry = Volatile.Read(ref pending).GetOrAdd(tenantId, static _ => new Entry());
            lock (entry)
            {
                if (!entry.Closed)
                {
                    var now = time.GetUtcNow();
                    entry.FirstAt = Earlier(entry.FirstAt, now);
                    entry.LastAt = Later(entry.LastAt, now);
                    change(entry);
                    return;
                }
            }
        }
    }

    private static DateTimeOffset? Later(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a > b ? a : b;

    private static DateTimeOffset? Earlier(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a < b ? a : b;

    /// <summary>One tenant's activity since the last flush, as the flush writes it.</summary>
    public sealed record Snapshot(
        string TenantId, long Ready, long Leased, long Dead, DateTimeOffset? VisibleMin, DateTimeOffset? VisibleMax, DateTimeOffset? DrainedAt,
        DateTimeOffset? ClearedThrough, DateTimeOffset? LastReceiveAt, DateTimeOffset? LastAckAt, IReadOnlyDictionary<DateTimeOffset, long> Failures,
        DateTimeOffset FirstAt, DateTimeOffset LastAt);

    private sealed class Entry
    {
        public bool Closed;
        public long Ready;
        public long Leased;
        public long Dead;
        public DateTimeOffset? VisibleMin;
        public DateTimeOffset? VisibleMax;
        public DateTimeOffset? DrainedAt;
        public DateTimeOffset? ClearedThrough;
        public DateTimeOffset? LastReceiveAt;
        public DateTimeOffset? LastAckAt;
        public DateTimeOffset? FirstAt;
        public DateTimeOffset? LastAt;
        public Dictionary<DateTimeOffset, long> Failures { get; } = [];

        /// <summary>A message became visible (or will, for a delayed requeue) at <paramref name="at"/>.</summary>
        public void Visible(DateTimeOffset at)
        {
            VisibleMin = Earlier(VisibleMin, at);
            VisibleMax = Later(VisibleMax, at);
        }

        public void Drained(DateTimeOffset at) => DrainedAt = Later(DrainedAt, at);

        public Snapshot ToSnapshot(string tenantId) =>
            new(
                tenantId, Ready, Leased, Dead, VisibleMin, VisibleMax, DrainedAt, ClearedThrough, LastReceiveAt, LastAckAt,
                new Dictionary<DateTimeOffset, long>(Failures), FirstAt ?? default, LastAt ?? default);

        public void Merge(Snapshot s)
        {
            Ready += s.Ready;
            Leased += s.Leased;
            Dead += s.Dead;
            if (s.VisibleMin is { } min)
            {
                Visible(min);
            }

            if (s.VisibleMax is { } max)
            {
                Visible(max);
            }

            DrainedAt = Later(DrainedAt, s.DrainedAt);
            FirstAt = Earlier(FirstAt, s.FirstAt);
            LastAt = Later(LastAt, s.LastAt);
            ClearedThrough = Later(ClearedThrough, s.ClearedThrough);
            LastReceiveAt = Later(LastReceiveAt, s.LastReceiveAt);
            LastAckAt = Later(LastAckAt, s.LastAckAt);
            foreach (var (hour, count) in s.Failures)
            {
                Failures[hour] = Failures.GetValueOrDefault(hour) + count;
            }
        }
    }
}
