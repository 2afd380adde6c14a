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

/// <summary>The answer: <see cref="PayloadJson"/> is the JSON text of the model's payload.</summary>
public sealed record OnlineInsightFound(
    string Insight, string? Key, string Source, DateTimeOffset GeneratedAt, long Version, string PayloadJson);

/// <summary>No model of the insight matches the request.</summary>
public sealed record OnlineInsightNotFound(string Insight, string Detail);

/// <summary>The worker could not answer (the live source failed); <see cref="Detail"/> is safe to show to the client.</summary>
public sealed record OnlineInsightFailed(string Insight, string Detail);

/// <summary>Where an answer came from, as the contract names it.</summary>
public static class OnlineInsightSource
{
    public const string Store = "store";
    public const string BigQuery = "bigquery";
}
