using System.Collections.Concurrent;

namespace Insights.SmartLink;

/// <summary>
/// The tenants this node has marked in <c>catalog.queue_ack_days</c> on its current UTC date, so only a tenant's first
/// ack each day writes the marker; a new day starts an empty set. The markers' one clock: the ack's day and the purge's
/// cut-off both come from here (docs/decisions/0012-purge-visits-only-acked-tenants.md).
/// </summary>
public sealed class QueueAckMarks(TimeProvider clock)
{
    private Day current = new(DateOnly.MinValue);

    public DateTimeOffset UtcNow => clock.GetUtcNow();

    public DateOnly Today => DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);

    /// <summary>False when this node already marked the tenant for <paramref name="day"/>.</summary>
    public bool NeedsMark(string tenantId, DateOnly day)
    {
        var marked = Volatile.Read(ref current);
        return marked.Date != day || !marked.Tenants.ContainsKey(tenantId);
    }

    /// <summary>Records that the marker of the tenant for <paramref name="day"/> is committed.</summary>
    public void Marked(string tenantId, DateOnly day)
    {
        var marked = Volatile.Read(ref current);
        while (marked.Date < day)
        {
            // The first mark of a new day replaces the set of the day before.
            var next = new Day(day);
            var seen = Interlocked.CompareExchange(ref current, next, marked);
            marked = seen == marked ? next : seen;
        }

        if (marked.Date == day)
        {
            marked.Tenants.TryAdd(tenantId, 0);
        }
    }

    private sealed class Day(DateOnly day)
    {
        public DateOnly Date { get; } = day;

        public ConcurrentDictionary<string, byte> Tenants { get; } = new(StringComparer.Ordinal);
    }
}
