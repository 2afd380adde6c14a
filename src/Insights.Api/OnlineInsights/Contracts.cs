using Insights.Tenancy;

namespace Insights.OnlineInsights;

/// <summary>
/// Asks a worker for the insight that matches, in the tenant <see cref="TenantId"/> resolved by the api node from the
/// caller's token. The worker resolves the tenant again; no schema name travels on the bus.
/// </summary>
public sealed record GetOnlineInsight(
    string TenantId,
    string Insight,
    string? Key,
    string? Filter,
    DateOnly? DateFrom,
    DateOnly? DateTo,
    IReadOnlyDictionary<string, string>? Parameters);

/// <summary>
/// A <see cref="GetOnlineInsight"/> for an insight answered live from the source. It travels to an endpoint of its
/// own, so that requests waiting on slow source queries never hold up lookups in the store.
/// </summary>
public sealed record GetLiveOnlineInsight(GetOnlineInsight Request);

/// <summary>
/// The model that answers a request (in the reply <see cref="OnlineInsightAnswer"/>): <see cref="PayloadJson"/> is the JSON
/// text of its payload.
/// </summary>
public sealed record OnlineInsightFound(
    string Insight, string? Key, string Source, DateTimeOffset GeneratedAt, long Version, string PayloadJson);

/// <summary>Where an answer came from, as the contract names it.</summary>
public static class OnlineInsightSource
{
    public const string Store = "store";
    public const string BigQuery = "bigquery";
}
