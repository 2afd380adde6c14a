using System.Threading.RateLimiting;
using Insights.Database;
using Insights.SmartLink;
using Insights.Tenancy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Insights.UnitTests.SmartLink;

public sealed class TenantRequestRateTests
{
    private sealed class ManualTime : TimeProvider
    {
        private long ticks = 1;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => ticks;

        public void Advance(TimeSpan by) => ticks += by.Ticks;
    }

    private sealed class Settings(SmartLinkOptions value) : IOptionsMonitor<SmartLinkOptions>
    {
        public SmartLinkOptions CurrentValue => value;

        public SmartLinkOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<SmartLinkOptions, string?> listener) => null;
    }

    private static (TenantRequestRate Rate, ManualTime Time) Limiter(int burst, int perSecond)
    {
        var time = new ManualTime();
        return (new TenantRequestRate(new Settings(new SmartLinkOptions { RateLimitBurst = burst, RateLimitPermitsPerSecond = perSecond }), time), time);
    }

    private static DefaultHttpContext Request(string? tenantId, bool limited = true)
    {
        var tenant = new TenantContext();
        if (tenantId is not null)
        {
            tenant.Set(new TenantInfo(tenantId, tenantId, TenantStatus.Active, SchemaName.ForTenant(tenantId)));
        }

        var context = new DefaultHttpContext { RequestServices = new ServiceCollection().AddSingleton(tenant).BuildServiceProvider() };
        context.SetEndpoint(new Endpoint(null, limited ? new EndpointMetadataCollection(TenantRateLimited.Instance) : EndpointMetadataCollection.Empty, "test"));
        return context;
    }

    [Fact]
    public void A_tenant_spends_its_burst_then_waits_for_the_refill_and_others_keep_theirs()
    {
        var (rate, time) = Limiter(burst: 3, perSecond: 2);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(rate.AttemptAcquire(Request("busy")).IsAcquired);
        }

        using var refused = rate.AttemptAcquire(Request("busy"));
        Assert.False(refused.IsAcquired);
        Assert.True(refused.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(0.5), retryAfter);
        Assert.True(rate.AttemptAcquire(Request("quiet")).IsAcquired);

        time.Advance(TimeSpan.FromSeconds(0.5));
        Assert.True(rate.AttemptAcquire(Request("busy")).IsAcquired);
        Assert.False(rate.AttemptAcquire(Request("busy")).IsAcquired);
    }

    [Fact]
    public void Requests_of_other_endpoints_or_without_a_tenant_are_not_counted()
    {
        var (rate, _) = Limiter(burst: 1, perSecond: 1);
        for (var i = 0; i < 5; i++)
        {
            Assert.True(rate.AttemptAcquire(Request("admin", limited: false)).IsAcquired);
            Assert.True(rate.AttemptAcquire(Request(null)).IsAcquired);
        }

        Assert.Equal(0, rate.Count);
    }

    [Fact]
    public void Refilled_buckets_are_dropped_once_the_buckets_have_doubled()
    {
        var (rate, time) = Limiter(burst: 2, perSecond: 1);
        for (var i = 0; i < 1500; i++)
        {
            Assert.True(rate.AttemptAcquire(Request($"t{i}")).IsAcquired);
        }

        // The trim at 1,024 found every bucket in use: all kept, the next trim at twice as many.
        Assert.Equal(1500, rate.Count);

        time.Advance(TimeSpan.FromSeconds(5));
        for (var i = 1500; i < 2048; i++)
        {
            Assert.True(rate.AttemptAcquire(Request($"t{i}")).IsAcquired);
        }

        // The first 1,500 had refilled: dropped; the ones that asked since are kept.
        Assert.InRange(rate.Count, 1, 548);
        Assert.True(rate.AttemptAcquire(Request("t0")).IsAcquired);
        Assert.True(rate.AttemptAcquire(Request("t0")).IsAcquired);
        Assert.False(rate.AttemptAcquire(Request("t0")).IsAcquired);
    }
}
