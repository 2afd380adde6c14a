namespace Insights.OnlineInsights;

/// <summary>What a client asks, over HTTP or in an <c>OnlineInsightRequest</c>; dates are <c>YYYY-MM-DD</c>.</summary>
public sealed record OnlineInsightRequestBody(
    string? Insight, string? Key, string? Filter, string? DateFrom, string? DateTo, Dictionary<string, JsonElement>? Parameters);
