namespace Insights.OnlineInsights;

/// <summary>
/// The outcome of one request, and the worker's one reply to <see cref="GetOnlineInsight"/>: <see cref="Found"/> is
/// set when <see cref="Status"/> is <c>Found</c>; otherwise <see cref="Detail"/> says why, in words safe to show the
/// client.
/// </summary>
public sealed record OnlineInsightAnswer(OnlineInsightStatus Status, OnlineInsightFound? Found, string? Detail)
{
    public static OnlineInsightAnswer Of(OnlineInsightFound found) => new(OnlineInsightStatus.Found, found, null);

    public static OnlineInsightAnswer NotFound(string detail) => new(OnlineInsightStatus.NotFound, null, detail);

    public static OnlineInsightAnswer Rejected(string detail) => new(OnlineInsightStatus.Rejected, null, detail);

    public static OnlineInsightAnswer Failed(string detail) => new(OnlineInsightStatus.Failed, null, detail);
}
