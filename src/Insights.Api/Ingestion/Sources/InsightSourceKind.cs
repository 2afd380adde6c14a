namespace Insights.Ingestion;

public static class InsightSourceKind
{
    public const string Local = "Local";
    public const string BigQuery = "BigQuery";
}
