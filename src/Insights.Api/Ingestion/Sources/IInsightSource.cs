using Insights.Tenancy;

namespace Insights.Ingestion;

/// <summary>Where insight models come from (setting <c>Ingestion:Source</c>).</summary>
public interface IInsightSource
{
    /// <summary>
    /// Every tenant's models updated at or after <paramref name="since"/>, ordered by (updatedAt, tenantId, id) with
    /// strings compared ordinally, in pages of at most <paramref name="pageSize"/>: one read of the source for the
    /// whole fleet (BigQuery: one query job). A page may be empty only to report the bytes of a query finding nothing.
    /// </summary>
    IAsyncEnumerable<FleetPage> ReadFleetAsync(DateTimeOffset since, int pageSize, CancellationToken cancellationToken);

    /// <summary>
    /// Every tenant's models that reached the source at or after <paramref name="since"/>, whatever their updatedAt,
    /// each with <see cref="FleetRow.ArrivedAt"/>, ordered by (arrivedAt, tenantId, id); pages as in
    /// <see cref="ReadFleetAsync"/>. The same model may come more than once (each time it was written).
    /// <paramref name="since"/> must be within <see cref="ArrivalWindow"/>.
    /// </summary>
    IAsyncEnumerable<FleetPage> ReadFleetByArrivalAsync(DateTimeOffset since, int pageSize, CancellationToken cancellationToken);

    /// <summary>
    /// How far back <see cref="ReadFleetByArrivalAsync"/> can read (BigQuery: the table's time-travel window); null
    /// when the source remembers every arrival.
    /// </summary>
    TimeSpan? ArrivalWindow { get; }

    /// <summary>
    /// The tenant's models strictly after <paramref name="after"/> (all of them when null), ordered by
    /// (updatedAt, id) with ids compared ordinally, in pages of at most <paramref name="pageSize"/> models. Timestamps
    /// carry microsecond precision. A page may be empty only to report the bytes of a query that found nothing.
    /// </summary>
    IAsyncEnumerable<SourcePage> ReadAsync(string tenantId, SourceCursor? after, int pageSize, CancellationToken cancellationToken);
}
