namespace Insights.Ingestion;

/// <summary>
/// One page of models. The bytes a BigQuery query processed and billed are counted on the first page that query
/// returned (0 on its later pages), so adding them up over pages gives the run's total.
/// </summary>
public sealed record SourcePage(IReadOnlyList<SourceModel> Models, long BytesProcessed, long BytesBilled);
