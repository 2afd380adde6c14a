namespace Insights.BigQuery;

public enum BigQueryMode
{
    Nullable,
    Required,
    Repeated,
}
