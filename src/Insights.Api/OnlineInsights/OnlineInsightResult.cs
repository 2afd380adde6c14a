namespace Insights.OnlineInsights;

/// <summary>The answer of <c>POST /api/v1/online-insights</c>.</summary>
public sealed record OnlineInsightResult(string Insight, string? Key, string Source, DateTimeOffset GeneratedAt, long Version, RawJson Payload);
