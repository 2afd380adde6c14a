using Insights.Tenancy;

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

/// <summary>A position in a tenant's models: everything strictly after (<see cref="UpdatedAt"/>, <see cref="Id"/>).</summary>
public sealed record SourceCursor(DateTimeOffset UpdatedAt, string Id)
{
    /// <summary>The cursor just past a model.</summary>
    public static SourceCursor After(SourceModel model) => new(model.UpdatedAt, model.Id);

    /// <summary>True when a model at (<paramref name="updatedAt"/>, <paramref name="id"/>) comes after this cursor.</summary>
    public bool Precedes(DateTimeOffset updatedAt, string id)
    {
        var at = SourceTime.Truncate(UpdatedAt);
        return updatedAt > at || (updatedAt == at && string.CompareOrdinal(id, Id) > 0);
    }
}

/// <summary>
/// One page of models. The bytes a BigQuery query processed and billed are counted on the first page that query
/// returned (0 on its later pages), so adding them up over pages gives the run's total.
/// </summary>
public sealed record SourcePage(IReadOnlyList<SourceModel> Models, long BytesProcessed, long BytesBilled);

/// <summary>One model of the fleet's source, with the tenant it belongs to.</summary>
public sealed record FleetRow(string TenantId, SourceModel Model);

/// <summary>One page of a fleet read; bytes as in <see cref="SourcePage"/>.</summary>
public sealed record FleetPage(IReadOnlyList<FleetRow> Rows, long BytesProcessed, long BytesBilled);

/// <summary>Where insight models come from (setting <c>Ingestion:Source</c>).</summary>
public interface IInsightSource
{
    /// <summary>
    /// Every tenant's models updated at or after <paramref name="since"/>, ordered by (updatedAt, tenantId, id) with
    /// strings compared ordinally, in pages of at most <paramref name="pageSize"/>: one read of the source for the whole
    /// fleet (BigQuery: one query job). A page may be empty only to report the bytes of a query that found nothing.
    /// </summary>
    IAsyncEnumerable<FleetPage> ReadFleetAsync(DateTimeOffset since, int pageSize, CancellationToken cancellationToken);

    /// <summary>
    /// The tenant's models strictly after <paramref name="after"/> (all of them when null), ordered by
    /// (updatedAt, id) with ids compared ordinally, in pages of at most <paramref name="pageSize"/> models.
    /// Timestamps carry microsecond precision. A page may be empty only to report the bytes of a query that found nothing.
    /// </summary>
    IAsyncEnumerable<SourcePage> ReadAsync(string tenantId, SourceCursor? after, int pageSize, CancellationToken cancellationToken);
}

/// <summary>Source timestamps have microsecond precision (BigQuery's and PostgreSQL's); finer ticks are dropped.</summary>
public static class SourceTime
{
    public static DateTimeOffset Truncate(DateTimeOffset value)
    {
        var utc = value.UtcTicks;
        return new DateTimeOffset(utc - (utc % 10), TimeSpan.Zero);
    }
}
