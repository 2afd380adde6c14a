namespace Insights.OnlineInsights;

/// <summary>
/// A <see cref="GetOnlineInsight"/> for an insight answered live from the source. It travels to an endpoint of its
/// own, so that requests waiting on slow source queries never hold up lookups in the store.
/// </summary>
public sealed record GetLiveOnlineInsight(GetOnlineInsight Request);
