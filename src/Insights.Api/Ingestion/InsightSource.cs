namespace Insights.Ingestion;

/// <summary>One insight model as the source holds it.</summary>
public sealed record SourceModel(
    string Id, string Insight, string Module, string? Key, string? Filter, DateOnly? DateFrom, DateOnly? DateTo,
    string PayloadJson, long Version, DateTimeOffset UpdatedAt, bool Deleted);

/// <summary>Where a tenant's ingestion stands: the last (updatedAt, id) committed.</summary>
public sealed record SourceCursor(DateTimeOffset UpdatedAt, string Id);

public sealed record SourcePage(IReadOnlyList<SourceModel> Models, long BytesProcessed, long BytesBilled);

/// <summary>Reads a tenant's models strictly after the cursor, ordered by (updatedAt, id), in pages.</summary>
public interface IInsightSource
{
    IAsyncEnumerable<SourcePage> ReadAsync(string tenantId, SourceCursor? after, int pageSize, CancellationToken cancellationToken);
}
