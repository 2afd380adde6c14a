namespace Insights.Ingestion;

/// <summary>
/// The BigQuery query ingestion runs (section <c>Ingestion:BigQuery</c>); the connection is in section <c>BigQuery</c>.
/// </summary>
public sealed class BigQuerySourceOptions
{
    /// <summary>The source table of the default query: <c>dataset.table</c> or <c>project.dataset.table</c>.</summary>
    public string? Table { get; set; }

    /// <summary>
    /// A GoogleSQL query replacing the default one. It must bind <c>@tenantId</c> and <c>@limit</c>, should use
    /// <c>@afterUpdatedAt</c> and <c>@afterId</c> as the exclusive cursor, must return the source table's columns and
    /// be ordered by <c>updated_at, id</c>. <c>{table}</c> is replaced by <see cref="Table"/>.
    /// </summary>
    public string? QueryTemplate { get; set; }

    /// <summary>
    /// A GoogleSQL query replacing the fleet sweep's default one. It must bind <c>@since</c> (rows updated at or after
    /// it), must return <c>tenant_id</c> and the source table's columns, ordered by <c>updated_at, tenant_id, id</c>.
    /// Values only as parameters, as for <see cref="QueryTemplate"/>.
    /// </summary>
    public string? SweepQueryTemplate { get; set; }

    /// <summary>
    /// How far back the source table's change history reaches: its time-travel window (BigQuery's default and most, 7
    /// days; a dataset may set 2 to 7). A sweep reading by arrival whose watermark is older than this cannot use the
    /// change history and reads by updated_at instead, and says so.
    /// </summary>
    public TimeSpan TimeTravelWindow { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// Rows one query fetches (<c>@limit</c>); when a query returns this many, the next resumes after its last row.
    /// </summary>
    public int BatchSize { get; set; } = 50_000;
}
