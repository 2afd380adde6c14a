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
