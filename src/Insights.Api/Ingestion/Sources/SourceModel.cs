namespace Insights.Ingestion;

/// <summary>One insight model as the source holds it; <see cref="PayloadJson"/> is the payload's JSON text.</summary>
public sealed record SourceModel(
    string Id,
    string Insight,
    string Module,
    string? Key,
    string? Filter,
    DateOnly? DateFrom,
    DateOnly? DateTo,
    string PayloadJson,
    long Version,
    DateTimeOffset UpdatedAt,
    bool Deleted);
