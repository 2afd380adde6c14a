namespace Insights.OnlineInsights;

/// <summary>
/// The model that answers a request (in the reply <see cref="OnlineInsightAnswer"/>): <see cref="PayloadJson"/> is the
/// JSON text of its payload.
/// </summary>
public sealed record OnlineInsightFound(
    string Insight, string? Key, string Source, DateTimeOffset GeneratedAt, long Version, string PayloadJson);
