using Insights.BigQuery;
using Insights.Tenancy;

namespace Insights.Ingestion;

/// <summary>
/// Executes a fleet sweep: reads the source once for every tenant, from the fleet watermark less
/// <see cref="IngestionRunOptions.SweepLookBack"/>, and applies each tenant's rows of a page in that tenant's own
/// transaction with a run's guarantees. The watermark moves only when the sweep read the source to its end, so after a
/// crash or a stop the next sweep reads the same rows again, changing nothing (docs/decisions/0016-fleet-sweep.md).
/// </summary>
/// <remarks>
/// <para>
/// With <c>Ingestion:SweepReadBy</c> = Arrival the sweep reads the rows that reached the source since the fleet's arrival
/// watermark less the look-back, whatever their updated_at; a watermark older than the source's change history makes it
/// read by updated_at instead, from the watermark less the audit look-back, and say so (log, metric, the sweep's note):
/// docs/decisions/0024-sweep-by-arrival.md.
/// </para>
/// <para>
/// Only riders get their rows applied: active tenants whose own run read the source to its end since a sweep last left
/// rows of them aside. Other tenants' rows are left to their own run (requested for an active tenant); rows of no known
/// tenant are counted.
/// </para>
/// </remarks>
public sealed class FleetSweepRunner(
    CatalogDatabase dataSource,
    IInsightSource source,
    InsightDefinitionCatalog definitions,
    IngestionRunner runner,
    IngestionTrigger trigger,
    IOptions<IngestionRunOptions> options,
    IOptions<BigQueryOptions> pricing,
    TimeProvider clock,
    InsightsMetrics metrics,
    ILogger<FleetSweepRunner> logger)
{
    /// <summary>First key of the sweep's advisory lock ("swep"); the second is 0.</summary>
    internal const int LockNamespace = 0x73776570;

    public const string CatchUpTrigger = "catch-up";

    /// <summary>
    /// A read by arrival starts at least this far inside the change history's window: the query reaches the source a
    /// moment after it is planned, and the source's clock is not ours.
    /// </summary>
    internal static readonly TimeSpan ArrivalWindowMargin = TimeSpan.FromMinutes(10);

    /// <summary>How a sweep reads the source: by arrival or by updated_at, from <see cref="Since"/>.</summary>
    internal sealed record ReadPlan(bool ByArrival, DateTimeOffset Since, string? Note);

    /// <summary>
    /// Where a sweep starts reading, from the watermarks before it (null: none yet) and whether it audits.
    /// </summary>
    internal static ReadPlan Plan(
        IngestionRunOptions settings, TimeSpan? arrivalWindow, DateTimeOffset now, DateTimeOffset? before, DateTimeOffset? arrivalBefore, bool audit)
    {
        var lookBack = audit ? settings.SweepAuditLookBack : settings.SweepLookBack;
        var from = before ?? now;
        if (settings.SweepReadBy != SweepReadBy.Arrival)
        {
            return new ReadPlan(false, from - lookBack, null);
        }

        // Before the first read by arrival, the newest updated_at read stands for the last arrival.
        var arrivalFrom = arrivalBefore ?? from;
        var since = arrivalFrom - lookBack;
        if (arrivalWindow is not { } window)
        {
            return new ReadPlan(true, since, null);
        }

        var oldest = now - window + ArrivalWindowMargin;
        if (arrivalFrom >= oldest)
        {
            return new ReadPlan(true, since < oldest ? oldest : since, null);
        }

        // The change history no longer holds what arrived since the watermark. Reading the whole table again is
        // unbounded at fleet scale; the widest regular read is the audit's, by updated_at. Rows that arrived in between
        // with an older updated_at are not read: a reconcile repairs them.
        var fallback = from - settings.SweepAuditLookBack;
        return new ReadPlan(false, fallback,
            $"The arrival watermark {arrivalFrom:O} is older than the source's change history ({window.TotalDays:0.##} days): read by updated_at since {fallback:O} instead; "
            + "rows that arrived in between with an older updated_at were not read.");
    }

    public async Task ExecuteAsync(Guid sweepId, CancellationToken cancellationToken)
    {
        await using var lockConnection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (!await LockAsync(lockConnection, "pg_try_advisory_lock", cancellationToken))
        {
            // Another worker executes a sweep; the active one records its outcome.
            return;
        }

        try
        {
            await SweepLockedAsync(sweepId, cancellationToken);
        }
        finally
        {
            await LockAsync(lockConnection, "pg_advisory_unlock", CancellationToken.None);
        }
    }

    private sealed class Totals
    {
        public int Pages;
        public long Read;
        public long Routed;
        public long Changed;
        public long Deferred;
        public long Unknown;
        public long LateBeyondLookBack;
        public DateTimeOffset? OldestLate;

        /// <summary>In an audit: rows older than this that change something landed beyond the look-back.</summary>
        public DateTimeOffset? RegularSince;
        public long BytesProcessed;
        public long BytesBilled;
        public DateTimeOffset? Newest;

        /// <summary>In a read by arrival: the newest arrival read.</summary>
        public DateTimeOffset? NewestArrival;

        /// <summary>In a read by arrival: a row that changes something and arrived later than this after its updated_at is late.</summary>
        public TimeSpan? LateAfterArrival;

        /// <summary>Rows read per known tenant, for each tenant's share of the bytes billed.</summary>
        public Dictionary<string, long> RowsByTenant { get; } = new(StringComparer.Ordinal);

        public HashSet<string> Touched { get; } = new(StringComparer.Ordinal);

        /// <summary>Active tenants whose rows were left aside, each asked for a catch-up run once per sweep.</summary>
        public HashSet<string> CatchUps { get; } = new(StringComparer.Ordinal);
    }

    private sealed record TenantState(TenantInfo Tenant, bool Riding);

    private async Task SweepLockedAsync(Guid sweepId, CancellationToken cancellationToken)
    {
        using var scope = logger.BeginScope("Ingestion sweep {SweepId}", sweepId);
        var (started, before, arrivalBefore, auditRequested) = await StartAsync(sweepId, cancellationToken);
        if (!started)
        {
            return;
        }

        var settings = options.Value;
        var now = clock.GetUtcNow();
        var from = before ?? now;
        // Audits only once there is a watermark: before the first sweep read anything, there is nothing to check.
        var audit = auditRequested && before is not null;
        var plan = Plan(settings, settings.SweepReadBy == SweepReadBy.Arrival ? source.ArrivalWindow : null, now, before, arrivalBefore, audit);
        var since = plan.Since;
        if (plan.Note is not null)
        {
            metrics.SweepArrivalFallback();
            logger.LogWarning("Ingestion sweep cannot read by arrival: {Note} Run a full reconcile of the fleet.", plan.Note);
        }

        await RecordStartAsync(sweepId, since, before, audit, plan, arrivalBefore, cancellationToken);
        var watch = Stopwatch.StartNew();
        var totals = new Totals
        {
            RegularSince = !plan.ByArrival && (audit || plan.Note is not null) ? from - settings.SweepLookBack : null,
            LateAfterArrival = plan.ByArrival ? settings.SweepLookBack : null,
        };
        try
        {
            var known = await definitions.AllAsync(cancellationToken);
            var pages = plan.ByArrival
                ? source.ReadFleetByArrivalAsync(since, settings.PageSize, cancellationToken)
                : source.ReadFleetAsync(since, settings.PageSize, cancellationToken);
            await foreach (var page in ReadAhead.Buffered(pages, 1, cancellationToken))
            {
                await ApplyPageAsync(sweepId, page, known, totals, cancellationToken);
            }

            // Whatever arrived up to a look-back before this read began was visible to it.
            DateTimeOffset? arrivalAfter = settings.SweepReadBy == SweepReadBy.Arrival
                ? Latest(Latest(arrivalBefore, totals.NewestArrival), now - settings.SweepLookBack)
                : null;
            await SucceedAsync(sweepId, totals, before, arrivalAfter);
            if (totals.LateBeyondLookBack > 0 && plan.ByArrival)
            {
                logger.LogInformation(
                    "Ingestion sweep by arrival: {Rows} rows reached the source later than Ingestion:SweepLookBack ({LookBack}) after their updated_at (the oldest updated {Oldest:O}); applied.",
                    totals.LateBeyondLookBack, settings.SweepLookBack, totals.OldestLate);
            }
            else if (totals.LateBeyondLookBack > 0)
            {
                logger.LogWarning(
                    "Ingestion sweep audit: {Rows} rows landed in the source later than Ingestion:SweepLookBack ({LookBack}) after their updated_at (the oldest updated {Oldest:O}); applied now. Widen the look-back if this recurs.",
                    totals.LateBeyondLookBack, settings.SweepLookBack, totals.OldestLate);
            }

            metrics.SweepFinished("succeeded", watch.Elapsed);
            logger.LogInformation(
                "Ingestion sweep finished: {Read} rows read {ReadBy} since {Since:O}, {Routed} applied to {Tenants} tenants ({Changed} changed), {Deferred} left for tenants' own runs, {Unknown} of unknown tenants; {Billed} bytes billed; {Seconds:F1} s",
                totals.Read, plan.ByArrival ? "by arrival" : "by updated_at", since, totals.Routed, totals.Touched.Count, totals.Changed, totals.Deferred, totals.Unknown, totals.BytesBilled, watch.Elapsed.TotalSeconds);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await FinishAsync(sweepId, "interrupted", "The worker stopped; the next sweep reads the same rows again.", totals);
            metrics.SweepFinished("interrupted", watch.Elapsed);
            throw;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogError(e, "Ingestion sweep failed after {Pages} pages", totals.Pages);
            await FinishAsync(sweepId, "failed", e is NpgsqlException ? "Storing a page failed; the service log has the cause." : e.Message, totals);
            metrics.SweepFinished("failed", watch.Elapsed);
        }
    }

    private async Task ApplyPageAsync(
        Guid sweepId, FleetPage page, IReadOnlyDictionary<string, InsightDefinition> known, Totals totals, CancellationToken cancellationToken)
    {
        totals.Pages++;
        totals.Read += page.Rows.Count;
        totals.BytesProcessed += page.BytesProcessed;
        totals.BytesBilled += page.BytesBilled > 0 ? page.BytesBilled : page.BytesProcessed;
        foreach (var row in page.Rows)
        {
            totals.Newest = Latest(totals.Newest, row.Model.UpdatedAt);
            totals.NewestArrival = Latest(totals.NewestArrival, row.ArrivedAt);
        }

        // The rows of each tenant, in the page's order (by updated_at, or by arrival, then id).
        var byTenant = new Dictionary<string, List<FleetRow>>(StringComparer.Ordinal);
        foreach (var row in page.Rows)
        {
            if (!byTenant.TryGetValue(row.TenantId, out var rows))
            {
                byTenant[row.TenantId] = rows = [];
            }

            rows.Add(row);
        }

        var states = await LoadStatesAsync(byTenant.Keys, cancellationToken);
        var deferred = new List<string>();
        foreach (var (tenantId, rows) in byTenant)
        {
            if (!states.TryGetValue(tenantId, out var state))
            {
                totals.Unknown += rows.Count;
                continue;
            }

            totals.RowsByTenant[tenantId] = totals.RowsByTenant.GetValueOrDefault(tenantId) + rows.Count;
            var applied = false;
            if (state.Riding && state.Tenant.Status == TenantStatus.Active
                && await runner.ApplySweepPageAsync(sweepId, state.Tenant, new SourcePage([.. rows.Select(r => r.Model)], 0, 0), known, cancellationToken) is { } changed)
            {
                totals.Changed += changed.Count;
                applied = true;
                if ((totals.RegularSince is not null || totals.LateAfterArrival is not null) && changed.Count > 0)
                {
                    var ids = changed.ToHashSet(StringComparer.Ordinal);
                    foreach (var late in rows.Where(r => ids.Contains(r.Model.Id) && IsLate(r, totals)).Select(r => r.Model))
                    {
                        totals.LateBeyondLookBack++;
                        totals.OldestLate = totals.OldestLate is { } oldest && oldest < late.UpdatedAt ? oldest : late.UpdatedAt;
                    }
                }
            }

            if (applied)
            {
                totals.Routed += rows.Count;
                totals.Touched.Add(tenantId);
            }
            else
            {
                totals.Deferred += rows.Count;
                deferred.Add(tenantId);
                if (state.Tenant.Status == TenantStatus.Active)
                {
                    totals.CatchUps.Add(tenantId);
                }
            }
        }

        await RecordPageAsync(sweepId, page, deferred, totals, cancellationToken);
        foreach (var tenantId in deferred.Where(totals.CatchUps.Contains))
        {
            // The tenant's own run reads from its cursor, these rows included; one queued or running is returned.
            await trigger.RequestAsync(tenantId, CatchUpTrigger, cancellationToken);
        }
    }

    /// <summary>
    /// A row the regular read by updated_at would have missed: updated before its start (an audit), or that arrived
    /// later than the look-back after its updated_at (a read by arrival).
    /// </summary>
    private static bool IsLate(FleetRow row, Totals totals) =>
        row.ArrivedAt is { } arrived && totals.LateAfterArrival is { } lookBack
            ? row.Model.UpdatedAt < arrived - lookBack
            : totals.RegularSince is { } regular && row.Model.UpdatedAt < regular;

    private static DateTimeOffset? Latest(DateTimeOffset? x, DateTimeOffset? y) =>
        x is null ? y : y is null ? x : x > y ? x : y;

    /// <summary>
    /// The known tenants among <paramref name="tenantIds"/>, read fresh: a suspension holds back their rows at once.
    /// </summary>
    private async Task<Dictionary<string, TenantState>> LoadStatesAsync(IEnumerable<string> tenantIds, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            SELECT t.id, t.name, t.status, t.schema_name, c.riding_since IS NOT NULL, t.store
            FROM {TenantRows.Tenants} t LEFT JOIN catalog.ingestion_cursors c ON c.tenant_id = t.id
            WHERE t.id = ANY($1)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = tenantIds.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        var states = new Dictionary<string, TenantState>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var tenant = new TenantInfo(reader.GetString(0), reader.GetString(1), reader.GetString(2), SchemaName.Parse(reader.GetString(3)), reader.GetString(5));
            states[tenant.Id] = new TenantState(tenant, reader.GetBoolean(4));
        }

        return states;
    }

    /// <summary>
    /// Marks the sweep running (false: it is no longer queued or running) and returns the fleet watermark (null: no
    /// sweep read anything yet), and whether the sweep was queued as an audit.
    /// </summary>
    private async Task<(bool Started, DateTimeOffset? Watermark, DateTimeOffset? ArrivalWatermark, bool Audit)> StartAsync(
        Guid sweepId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            """
            WITH started AS (
                UPDATE catalog.ingestion_sweeps SET status = 'running', started_at = coalesce(started_at, now())
                WHERE id = $1 AND status IN ('queued', 'running')
                RETURNING audit
            )
            SELECT (SELECT watermark FROM catalog.ingestion_fleet), audit, (SELECT arrival_watermark FROM catalog.ingestion_fleet) FROM started
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = sweepId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? (true, reader.IsDBNull(0) ? null : reader.GetFieldValue<DateTimeOffset>(0),
                reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2), reader.GetBoolean(1))
            : (false, null, null, false);
    }

    private async Task RecordStartAsync(
        Guid sweepId, DateTimeOffset since, DateTimeOffset? before, bool audit, ReadPlan plan, DateTimeOffset? arrivalBefore, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            """
            UPDATE catalog.ingestion_sweeps SET since = $2, watermark_before = $3, audit = $4, read_by = $5, arrival_watermark_before = $6, note = $7
            WHERE id = $1
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = sweepId });
        command.Parameters.Add(new NpgsqlParameter { Value = since });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)before ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = audit });
        command.Parameters.Add(new NpgsqlParameter { Value = plan.ByArrival ? "arrival" : "updated_at" });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)arrivalBefore ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)plan.Note ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The page's counters on the sweep; the tenants whose rows were left aside stop riding.</summary>
    private async Task RecordPageAsync(Guid sweepId, FleetPage page, List<string> deferred, Totals totals, CancellationToken cancellationToken)
    {
        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            """
            UPDATE catalog.ingestion_sweeps SET pages = $2, rows_read = $3, rows_deferred = $4, rows_unknown = $5,
                bytes_processed = $6, bytes_billed = $7, estimated_cost_usd = $8
            WHERE id = $1
            """)
        {
            Parameters =
            {
                new() { Value = sweepId }, new() { Value = totals.Pages }, new() { Value = totals.Read }, new() { Value = totals.Deferred },
                new() { Value = totals.Unknown }, new() { Value = totals.BytesProcessed }, new() { Value = totals.BytesBilled },
                new() { Value = BigQueryCost.Estimate(totals.BytesBilled, pricing.Value.PricePerTiB) },
            },
        });
        if (deferred.Count > 0)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(
                """
                INSERT INTO catalog.ingestion_cursors (tenant_id, moved_at, deferred_at)
                SELECT id, NULL, now() FROM unnest($1::text[]) AS d(id)
                ON CONFLICT (tenant_id) DO UPDATE SET riding_since = NULL, deferred_at = now()
                """)
            {
                Parameters = { new() { Value = deferred.ToArray() } },
            });
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Records the sweep as succeeded, moves the fleet watermark to the newest row read (never back) and the arrival
    /// watermark to <paramref name="arrivalAfter"/> (never back), and adds each
    /// tenant's share of the bytes billed (by its rows, the remainder to the tenants with the most rows) to its cursor.
    /// </summary>
    private async Task SucceedAsync(Guid sweepId, Totals totals, DateTimeOffset? before, DateTimeOffset? arrivalAfter)
    {
        var after = totals.Newest is { } newest && (before is null || newest > before) ? newest : before;
        var (tenants, shares) = Apportion(totals.BytesBilled, totals.RowsByTenant);
        var price = pricing.Value.PricePerTiB;
        await using var connection = await dataSource.OpenConnectionAsync(CancellationToken.None);
        await using var transaction = await connection.BeginTransactionAsync(CancellationToken.None);
        await using (var batch = new NpgsqlBatch(connection, transaction))
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(
                """
                UPDATE catalog.ingestion_sweeps SET status = 'succeeded', error = NULL, finished_at = now(), watermark_after = $2,
                    rows_routed = $3, rows_changed = $4, tenants_touched = $5, rows_late = $6, arrival_watermark_after = $7
                WHERE id = $1
                """)
            {
                Parameters =
                {
                    new() { Value = sweepId }, new() { Value = (object?)after ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz },
                    new() { Value = totals.Routed }, new() { Value = totals.Changed }, new() { Value = totals.Touched.Count },
                    new() { Value = totals.LateBeyondLookBack },
                    new() { Value = (object?)arrivalAfter ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz },
                },
            });
            if (after is not null || arrivalAfter is not null)
            {
                // GREATEST ignores a NULL: a watermark without a new value stays.
                batch.BatchCommands.Add(new NpgsqlBatchCommand(
                    """
                    INSERT INTO catalog.ingestion_fleet (watermark, arrival_watermark) VALUES (coalesce($1, $2), $2)
                    ON CONFLICT (singleton) DO UPDATE SET watermark = GREATEST(catalog.ingestion_fleet.watermark, $1),
                        arrival_watermark = GREATEST(catalog.ingestion_fleet.arrival_watermark, $2), moved_at = now()
                    """)
                {
                    Parameters =
                    {
                        new() { Value = (object?)after ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz },
                        new() { Value = (object?)arrivalAfter ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz },
                    },
                });
            }

            if (tenants.Length > 0)
            {
                batch.BatchCommands.Add(new NpgsqlBatchCommand(
                    $"""
                    INSERT INTO catalog.ingestion_cursors AS c (tenant_id, moved_at, swept_rows, swept_bytes_billed, swept_cost_usd)
                    SELECT s.tenant_id, NULL, s.rows, s.bytes, s.cost FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::numeric[]) AS s(tenant_id, rows, bytes, cost)
                    WHERE EXISTS (SELECT FROM {TenantRows.Tenants} t WHERE t.id = s.tenant_id)
                    ON CONFLICT (tenant_id) DO UPDATE SET swept_rows = c.swept_rows + EXCLUDED.swept_rows,
                        swept_bytes_billed = c.swept_bytes_billed + EXCLUDED.swept_bytes_billed, swept_cost_usd = c.swept_cost_usd + EXCLUDED.swept_cost_usd
                    """)
                {
                    Parameters =
                    {
                        new() { Value = tenants },
                        new() { Value = tenants.Select(t => totals.RowsByTenant[t]).ToArray() },
                        new() { Value = shares },
                        new() { Value = shares.Select(bytes => BigQueryCost.Estimate(bytes, price)).ToArray() },
                    },
                });
            }

            await batch.ExecuteNonQueryAsync(CancellationToken.None);
        }

        await transaction.CommitAsync(CancellationToken.None);
    }

    /// <summary>
    /// Shares of <paramref name="bytes"/> in proportion to each tenant's rows; they add up to <paramref name="bytes"/>.
    /// </summary>
    public static (string[] Tenants, long[] Shares) Apportion(long bytes, IReadOnlyDictionary<string, long> rowsByTenant)
    {
        var tenants = rowsByTenant.Where(r => r.Value > 0).OrderByDescending(r => r.Value).ThenBy(r => r.Key, StringComparer.Ordinal).Select(r => r.Key).ToArray();
        var total = tenants.Sum(t => rowsByTenant[t]);
        var shares = new long[tenants.Length];
        if (total == 0)
        {
            return (tenants, shares);
        }

        long given = 0;
        for (var i = 0; i < tenants.Length; i++)
        {
            shares[i] = (long)(bytes * (decimal)rowsByTenant[tenants[i]] / total);
            given += shares[i];
        }

        for (var i = 0; given < bytes; i = (i + 1) % tenants.Length)
        {
            shares[i]++;
            given++;
        }

        return (tenants, shares);
    }

    private async Task FinishAsync(Guid sweepId, string status, string error, Totals totals)
    {
        await using var command = dataSource.CreateCommand(
            """
            UPDATE catalog.ingestion_sweeps SET status = $2, error = $3, finished_at = now(), rows_routed = $4, rows_changed = $5, tenants_touched = $6
            WHERE id = $1
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = sweepId });
        command.Parameters.Add(new NpgsqlParameter { Value = status });
        command.Parameters.Add(new NpgsqlParameter { Value = error });
        command.Parameters.Add(new NpgsqlParameter { Value = totals.Routed });
        command.Parameters.Add(new NpgsqlParameter { Value = totals.Changed });
        command.Parameters.Add(new NpgsqlParameter { Value = totals.Touched.Count });
        await command.ExecuteNonQueryAsync(CancellationToken.None);
    }

    private static async Task<bool> LockAsync(NpgsqlConnection connection, string function, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT {function}($1, 0)", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = LockNamespace });
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
