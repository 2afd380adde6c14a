using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Threading.RateLimiting;
using Insights.Tenancy;

namespace Insights.SmartLink;

/// <summary>
/// A token bucket per tenant for the client API and online insights (<c>SmartLink:RateLimitPermitsPerSecond</c>, burst
/// <c>SmartLink:RateLimitBurst</c>), refilled when the tenant next asks instead of by a timer per bucket
/// (docs/decisions/0019-per-tenant-rate-without-timers.md). A full bucket is the same as none, so full buckets are
/// dropped whenever the buckets have doubled since the last trim.
/// </summary>
public sealed class TenantRequestRate : PartitionedRateLimiter<HttpContext>
{
    private const int MinimumTrimCount = 1024;

    private readonly ConcurrentDictionary<string, Bucket> buckets = new(StringComparer.Ordinal);
    private readonly IOptionsMonitor<SmartLinkOptions> options;
    private readonly TimeProvider time;
    private readonly Lock trimming = new();
    private int trimAt = MinimumTrimCount;

    public TenantRequestRate(IOptionsMonitor<SmartLinkOptions> options, TimeProvider time)
    {
        this.options = options;
        this.time = time;
    }

    /// <summary>The buckets kept now (tests and diagnostics).</summary>
    public int Count => buckets.Count;

    public override RateLimiterStatistics? GetStatistics(HttpContext resource) => null;

    protected override RateLimitLease AttemptAcquireCore(HttpContext resource, int permitCount) => Acquire(resource, permitCount);

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(HttpContext resource, int permitCount, CancellationToken cancellationToken) =>
        ValueTask.FromResult<RateLimitLease>(Acquire(resource, permitCount));

    private Lease Acquire(HttpContext context, int permitCount)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<TenantRateLimited>() is null
            || context.RequestServices.GetService<TenantContext>() is not { IsResolved: true } tenant)
        {
            return Lease.Granted;
        }

        var settings = options.CurrentValue;
        var now = time.GetTimestamp();
        var bucket = buckets.GetOrAdd(tenant.Current.Id, static (_, state) => new Bucket(state.Burst, state.Now), (Burst: (double)settings.RateLimitBurst, Now: now));
        var wait = bucket.Take(permitCount, now, settings.RateLimitBurst, settings.RateLimitPermitsPerSecond, time);
        if (buckets.Count >= Volatile.Read(ref trimAt))
        {
            Trim(settings, now);
        }

        return wait is { } retryAfter ? new Lease(false, retryAfter) : Lease.Granted;
    }

    /// <summary>Drops the buckets that have refilled: asking again starts a full one, as they are.</summary>
    private void Trim(SmartLinkOptions settings, long now)
    {
        if (!trimming.TryEnter())
        {
            return;
        }

        try
        {
            foreach (var (tenantId, bucket) in buckets)
            {
                if (bucket.IsFull(now, settings.RateLimitBurst, settings.RateLimitPermitsPerSecond, time))
                {
                    buckets.TryRemove(KeyValuePair.Create(tenantId, bucket));
                }
            }

            Volatile.Write(ref trimAt, Math.Max(MinimumTrimCount, buckets.Count * 2));
        }
        finally
        {
            trimming.Exit();
        }
    }

    private sealed class Bucket(double tokens, long at)
    {
        private readonly Lock gate = new();
        private double tokens = tokens;
        private long at = at;

        /// <summary>Takes the permits (null) or tells how long until they would be there.</summary>
        public TimeSpan? Take(int permits, long now, int burst, int perSecond, TimeProvider time)
        {
            lock (gate)
            {
                Refill(now, burst, perSecond, time);
                if (tokens >= permits)
                {
                    tokens -= permits;
                    return null;
                }

                return TimeSpan.FromSeconds((permits - tokens) / perSecond);
            }
        }

        public bool IsFull(long now, int burst, int perSecond, TimeProvider time)
        {
            lock (gate)
            {
                Refill(now, burst, perSecond, time);
                return tokens >= burst;
            }
        }

        private void Refill(long now, int burst, int perSecond, TimeProvider time)
        {
            if (now > at)
            {
                tokens = Math.Min(burst, tokens + (time.GetElapsedTime(at, now).TotalSeconds * perSecond));
                at = now;
            }
        }
    }

    private sealed class Lease(bool acquired, TimeSpan? retryAfter) : RateLimitLease
    {
        public static readonly Lease Granted = new(true, null);

        public override bool IsAcquired => acquired;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, [NotNullWhen(true)] out object? metadata)
        {
            metadata = metadataName == MetadataName.RetryAfter.Name ? retryAfter : null;
            return metadata is not null;
        }
    }
}
