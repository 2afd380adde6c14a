namespace Insights.OnlineInsights;

public enum OnlineInsightStatus
{
    Found,
    NotFound,

    /// <summary>The insight is unknown or not online, or the tenant not active: asking again will not help.</summary>
    Rejected,

    /// <summary>The source failed or did not answer in time.</summary>
    Failed,
}
