namespace Insights.OnlineInsights;

/// <summary>Where an answer came from, as the contract names it.</summary>
public static class OnlineInsightSource
{
    public const string Store = "store";
    public const string BigQuery = "bigquery";
}
