namespace Insights.Ingestion;

/// <summary>How runs are scheduled and paged (section <c>Ingestion</c>).</summary>
public sealed class IngestionRunOptions
{
    public const string Section = "Ingestion";

    /// <summary>How often the scheduler starts a fleet sweep (one read of the source for every tenant).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00", ErrorMessage = "Setting 'Ingestion:Interval' must be between 1 second and 7 days.")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Runs a worker executes at once.</summary>
    [Range(1, 64, ErrorMessage = "Setting 'Ingestion:MaxParallelTenants' must be between 1 and 64.")]
    public int MaxParallelTenants { get; set; } = 4;

    /// <summary>
    /// Models per page, each page one transaction; the default measured fastest
    /// (docs/decisions/0006-ingestion-pages-of-2500-two-in-flight.md).
    /// </summary>
    [Range(1, 50_000, ErrorMessage = "Setting 'Ingestion:PageSize' must be between 1 and 50000.")]
    public int PageSize { get; set; } = 2500;

    /// <summary>
    /// A run still queued this long after it was requested (or after its last resend) has its command sent again: the
    /// command may have died with an in-memory bus, or sit behind a long backlog (where the copy is a no-op).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00", ErrorMessage = "Setting 'Ingestion:ResendQueuedAfter' must be between 1 second and 1 day.")]
    public TimeSpan ResendQueuedAfter { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>A queued run is failed once its command was resent this many times without a worker.</summary>
    [Range(0, 100, ErrorMessage = "Setting 'Ingestion:MaxResends' must be between 0 and 100.")]
    public int MaxResends { get; set; } = 3;

    /// <summary>How often the scheduler looks for runs whose command is gone or whose worker died.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00", ErrorMessage = "Setting 'Ingestion:ReaperInterval' must be between 100 ms and 1 hour.")]
    public TimeSpan ReaperInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How far before the fleet watermark (the newest row a sweep read) the next sweep reads again, for rows that land
    /// in the source after rows updated later than them. A row that lands later than this after its updated_at is read
    /// only by an audit or its tenant's own run. Re-reading is harmless: a model is written only when it changed.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "7.00:00:00", ErrorMessage = "Setting 'Ingestion:SweepLookBack' must be between 0 and 7 days.")]
    public TimeSpan SweepLookBack { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// A sweep reads from the watermark less <see cref="SweepAuditLookBack"/> instead when the last such sweep (an
    /// audit) succeeded longer than this ago: rows that landed later than <see cref="SweepLookBack"/> are then applied,
    /// and counted and logged as late beyond the look-back. Zero makes every sweep an audit.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "30.00:00:00", ErrorMessage = "Setting 'Ingestion:SweepAuditEvery' must be between 0 and 30 days.")]
    public TimeSpan SweepAuditEvery { get; set; } = TimeSpan.FromDays(1);

    /// <summary>How far before the watermark an audit sweep reads (see <see cref="SweepAuditEvery"/>).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "30.00:00:00", ErrorMessage = "Setting 'Ingestion:SweepAuditLookBack' must be between 0 and 30 days.")]
    public TimeSpan SweepAuditLookBack { get; set; } = TimeSpan.FromDays(2);

    /// <summary>
    /// How a fleet sweep finds the rows to read: <see cref="SweepReadBy.UpdatedAt"/> (the default) by their updated_at,
    /// from the watermark less the look-back; <see cref="SweepReadBy.Arrival"/> by when they reached the source
    /// (BigQuery: the table's change history, <c>APPENDS</c>; Local: when a file appeared), from the newest arrival
    /// read less the look-back, so a row that lands weeks after its updated_at is still read by the next sweep
    /// (docs/decisions/0024-sweep-by-arrival.md).
    /// </summary>
    public SweepReadBy SweepReadBy { get; set; } = SweepReadBy.UpdatedAt;

    /// <summary>
    /// Finished runs (succeeded, failed, interrupted) older than this are deleted by the scheduler; queued and running
    /// ones never.
    /// </summary>
    [Range(typeof(TimeSpan), "01:00:00", "3650.00:00:00", ErrorMessage = "Setting 'Ingestion:RunRetention' must be between 1 hour and 3650 days.")]
    public TimeSpan RunRetention { get; set; } = TimeSpan.FromDays(30);
}
