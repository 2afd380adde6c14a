namespace Insights.SmartLink;

/// <summary>A tenant's queue counted exactly (<see cref="TenantQueues.CountAsync"/>).</summary>
public sealed record QueueCount(long Ready, long Leased, long Dead, DateTimeOffset? OldestVisibleAt, DateTimeOffset CountedAt);
