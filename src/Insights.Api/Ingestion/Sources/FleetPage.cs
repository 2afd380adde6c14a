namespace Insights.Ingestion;

/// <summary>One page of a fleet read; bytes as in <see cref="SourcePage"/>.</summary>
public sealed record FleetPage(IReadOnlyList<FleetRow> Rows, long BytesProcessed, long BytesBilled);
