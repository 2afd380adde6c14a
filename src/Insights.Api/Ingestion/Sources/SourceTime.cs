namespace Insights.Ingestion;

/// <summary>Source timestamps have microsecond precision (BigQuery's, PostgreSQL's); finer ticks are dropped.</summary>
public static class SourceTime
{
    public static DateTimeOffset Truncate(DateTimeOffset value)
    {
        var utc = value.UtcTicks;
        return new DateTimeOffset(utc - (utc % 10), TimeSpan.Zero);
    }
}
