namespace Insights.Ingestion;

/// <summary>
/// Where ingestion reads insight models (settings <c>Ingestion:Source</c>, <c>Ingestion:Local</c>,
/// <c>Ingestion:BigQuery</c>).
/// </summary>
public sealed class InsightSourceOptions
{
    public const string Section = "Ingestion";

    /// <summary><c>Local</c> (NDJSON files) or <c>BigQuery</c>.</summary>
    public string Source { get; set; } = InsightSourceKind.Local;

    public LocalSourceOptions Local { get; set; } = new();

    public BigQuerySourceOptions BigQuery { get; set; } = new();

    public bool UsesBigQuery => string.Equals(Source, InsightSourceKind.BigQuery, StringComparison.OrdinalIgnoreCase);

    public bool UsesLocal => string.Equals(Source, InsightSourceKind.Local, StringComparison.OrdinalIgnoreCase);
}
