using Insights.BigQuery;
using Insights.InsightModels;
using Insights.SmartLink;
using Insights.Tenancy;

namespace Insights.Ingestion;

/// <summary>
/// Executes one ingestion run: pages from the source after the tenant's cursor, each in one transaction on the tenant's
/// store (the upsert of the changed models, one queue message per change, the cursor); the catalog's copy of the cursor
/// and the run's counters follow the commit. A crash or a stop loses at most the page in hand, which the next run reads
/// again; nothing is enqueued twice (docs/decisions/0006-ingestion-pages-of-2500-two-in-flight.md).
/// </summary>
public sealed class IngestionRunner(
    CatalogDatabase dataSource,
    TenantDatabases connections,
    IInsightSource source,
    InsightDefinitionCatalog definitions,
    TenantDirectory directory,
    QueueWriter queue,
    IngestionTrigger trigger,
    IOptions<IngestionRunOptions> options,
    IOptions<BigQueryOptions> pricing,
    InsightsMetrics metrics,
    ILogger<IngestionRunner> logger)
{
    /// <summary>First key of the per-tenant advisory locks of ingestion ("ingest").</summary>
    internal const int LockNamespace = TenantLocks.Ingestion;

    public async Task ExecuteAsync(Guid runId, string tenantId, CancellationToken cancellationToken)
    {
        await using var lockConnection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (!await TenantLocks.TryLockAsync(lockConnection, LockNamespace, tenantId, cancellationToken))
        {
            // Another node is executing this tenant's run (a redelivered command); it records the outcome.
            return;
        }

        try
        {
            await RunLockedAsync(runId, tenantId, cancellationToken);
        }
        finally
        {
            // Session locks survive the connection's return to the pool: release it explicitly.
            await TenantLocks.UnlockAsync(lockConnection, LockNamespace, tenantId);
        }
    }

    /// <summary>
    /// Applies a fleet sweep's rows of one tenant as one page: a run's page transaction, without a run. Returns the ids
    /// of the models it changed; null when the tenant's own run holds its lock: the rows are left to that run.
    /// </summary>
    public async Task<IReadOnlyList<string>?> ApplySweepPageAsync(
        Guid sweepId, TenantInfo tenant, SourcePage page, IReadOnlyDictionary<string, InsightDefinition> known, CancellationToken cancellationToken)
    {
        await using var lockConnection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (!await TenantLocks.TryLockAsync(lockConnection, LockNamespace, tenant.Id, cancellationToken))
        {
            return null;
        }

        try
        {
            await using var prepared = await PreparePageAsync(tenant, page, known, 0, cancellationToken);
            var result = await CompletePageAsync(null, tenant, prepared, known, cancellationToken);
            logger.LogDebug("Sweep {SweepId}: tenant {TenantId}, {Read} rows, {Changed} changed and enqueued", sweepId, tenant.Id, page.Models.Count, result.Changed);
            return result.ChangedIds;
        }
        finally
        {
            await TenantLocks.UnlockAsync(lockConnection, LockNamespace, tenant.Id);
        }
    }

    private async Task RunLockedAsync(Guid runId, string tenantId, CancellationToken cancellationToken)
    {
        using var scope = logger.BeginScope("Tenant {TenantId}, ingestion run {RunId}", tenantId, runId);
        TelemetrySetup.TagTenant(tenantId);
        if (!await StartAsync(runId, cancellationToken))
        {
            return;
        }

        directory.Evict(tenantId);
        var tenant = await directory.FindAsync(tenantId, cancellationToken);
        if (tenant is not { Status: TenantStatus.Active })
        {
            await FinishAsync(runId, "failed", "The tenant is not active.");
            return;
        }

        var watch = Stopwatch.StartNew();
        var counters = new Counters();
        try
        {
            var cursor = await ReadCursorAsync(tenant, cancellationToken);
            var known = await definitions.AllAsync(cancellationToken);
            var read = Stopwatch.StartNew();
            // Two pages in flight: the next page is copied into its own transaction's temporary table while the current
            // one is upserted, enqueued and committed. Pages still commit in order (an upsert starts after the previous
            // commit), and none waits for the next to be read
            // (docs/decisions/0006-ingestion-pages-of-2500-two-in-flight.md).
            PreparedPage? prepared = null;
            Task? completing = null;
            try
            {
                await foreach (var page in ReadAhead.Buffered(source.ReadAsync(tenantId, cursor, options.Value.PageSize, cancellationToken), 1, cancellationToken))
                {
                    var readMs = read.Elapsed.TotalMilliseconds;
                    if (page.Models.Count == 0)
                    {
                        // A query that found nothing still reports what it processed and billed.
                        await AddBytesAsync(runId, page, cancellationToken);
                        continue;
                    }

                    prepared = await PreparePageAsync(tenant, page, known, readMs, cancellationToken);
                    read.Restart();
                    await CompletedAsync();
                    completing = CompleteAsync(prepared);
                    prepared = null;
                }

                await CompletedAsync();
            }
            finally
            {
                // Only after another failure: the page being applied commits or rolls back, a prepared one rolls back.
                if (completing is not null)
                {
                    await SettleAsync(completing);
                }

                if (prepared is not null)
                {
                    await prepared.DisposeAsync();
                }
            }

            if (!await SucceedAsync(runId, tenantId))
            {
                // A sweep left rows of the tenant aside while this run read: another run picks them up.
                await trigger.RequestAsync(tenantId, FleetSweepRunner.CatchUpTrigger, CancellationToken.None);
            }

            metrics.IngestionRunFinished("succeeded");

            // Waits for the page being applied; once awaited it is no longer the finally block's to settle.
            async Task CompletedAsync()
            {
                if (completing is { } previous)
                {
                    completing = null;
                    await previous;
                }
            }

            async Task CompleteAsync(PreparedPage prepared)
            {
                await using (prepared)
                {
                    var result = await CompletePageAsync(runId, tenant, prepared, known, cancellationToken);
                    counters.Add(result, prepared.Page);
                    var t = result.Timings;
                    logger.LogInformation(
                        "Ingestion page {Page}: {Read} read, {Changed} changed and enqueued, {Skipped} skipped ({ReadMs:F0} ms reading, {StoreMs:F0} ms storing: {CopyMs:F0} copy, {UpsertMs:F0} upsert, {EnqueueMs:F0} enqueue, {CommitMs:F0} commit); {Total} read in {Seconds:F1} s",
                        counters.Pages, prepared.Page.Models.Count, result.Changed, result.Skipped, prepared.ReadMs, t.Sum(), t[0], t[1], t[2], t[3],
                        counters.Read, watch.Elapsed.TotalSeconds);
                }
            }

            logger.LogInformation("Ingestion run finished: {Read} read, {Changed} changed, {Skipped} skipped in {Seconds:F1} s",
                counters.Read, counters.Changed, counters.Skipped, watch.Elapsed.TotalSeconds);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await FinishAsync(runId, "interrupted", "The worker stopped; the next run resumes from the last committed page.");
            throw;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogError(e, "Ingestion run failed after {Pages} pages", counters.Pages);
            await FinishAsync(runId, "failed", Describe(e));
        }
    }

    private sealed record PageResult(int Changed, int Skipped, double[] Timings, IReadOnlyList<string> ChangedIds);

    private sealed class Counters
    {
        public int Pages { get; private set; }
        public long Read { get; private set; }
        public long Changed { get; private set; }
        public long Skipped { get; private set; }

        public void Add(PageResult result, SourcePage page)
        {
            Pages++;
            Read += page.Models.Count;
            Changed += result.Changed;
            Skipped += result.Skipped;
        }
    }

    /// <summary>A page copied into a temporary table in its own open transaction, waiting its turn.</summary>
    private sealed class PreparedPage(
        SourcePage page, double readMs, TenantDatabase database, NpgsqlConnection connection, NpgsqlTransaction transaction,
        Dictionary<string, SourceModel> byId, Dictionary<string, int> skippedTypes, double copyMs) : IAsyncDisposable
    {
        public SourcePage Page => page;
        public TenantDatabase Database => database;
        public double ReadMs => readMs;
        public NpgsqlConnection Connection => connection;
        public NpgsqlTransaction Transaction => transaction;
        public Dictionary<string, SourceModel> ById => byId;
        public Dictionary<string, int> SkippedTypes => skippedTypes;
        public double CopyMs => copyMs;

        /// <summary>Rolls back what was not committed (a failure or a stop) and returns the connection.</summary>
        public async ValueTask DisposeAsync()
        {
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
        }
    }

    private async Task<PreparedPage> PreparePageAsync(
        TenantInfo tenant, SourcePage page, IReadOnlyDictionary<string, InsightDefinition> known, double readMs, CancellationToken cancellationToken)
    {
        // The newest row of a page for the same id wins (by updated_at, then the last one: a page read by arrival is not
        // in updated_at order); unknown insight types are counted and skipped.
        var byId = new Dictionary<string, SourceModel>(page.Models.Count, StringComparer.Ordinal);
        var skippedTypes = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var model in page.Models)
        {
            if (known.ContainsKey(model.Insight))
            {
                if (!byId.TryGetValue(model.Id, out var kept) || model.UpdatedAt >= kept.UpdatedAt)
                {
                    byId[model.Id] = model;
                }
            }
            else
            {
                skippedTypes[model.Insight] = skippedTypes.GetValueOrDefault(model.Insight) + 1;
            }
        }

        var phase = Stopwatch.StartNew();
        // The page's transaction (models, messages, cursor) runs on the tenant's lane.
        var database = connections.For(tenant);
        var connection = await database.OpenConnectionAsync(cancellationToken);
        NpgsqlTransaction? transaction = null;
        try
        {
            transaction = await connection.BeginTransactionAsync(cancellationToken);
            if (byId.Count > 0)
            {
                await CopyToTemporaryTableAsync(connection, transaction, byId.Values, cancellationToken);
            }

            return new PreparedPage(page, readMs, database, connection, transaction, byId, skippedTypes, phase.Elapsed.TotalMilliseconds);
        }
        catch
        {
            if (transaction is not null)
            {
                await transaction.DisposeAsync();
            }

            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits for the page being applied when the run failed for another reason, the one reported.</summary>
    private async Task SettleAsync(Task completing)
    {
        try
        {
            await completing;
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or InvalidOperationException or IOException)
        {
            logger.LogDebug(e, "The page being applied when the run failed did not commit either");
        }
    }

    private static async Task CopyToTemporaryTableAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IEnumerable<SourceModel> models, CancellationToken cancellationToken)
    {
        await using (var create = new NpgsqlCommand(InsightModelWriter.CreateStagingSql, connection, transaction))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var importer = await connection.BeginBinaryImportAsync(InsightModelWriter.StagingCopySql, cancellationToken);
        foreach (var model in models)
        {
            await importer.StartRowAsync(cancellationToken);
            await importer.WriteAsync(model.Id, NpgsqlDbType.Text, cancellationToken);
            await importer.WriteAsync(model.Insight, NpgsqlDbType.Text, cancellationToken);
            await importer.WriteAsync(model.Module, NpgsqlDbType.Text, cancellationToken);
            await WriteNullableAsync(importer, model.Key, NpgsqlDbType.Text, cancellationToken);
            await WriteNullableAsync(importer, model.Filter, NpgsqlDbType.Text, cancellationToken);
            await WriteNullableAsync(importer, model.DateFrom, NpgsqlDbType.Date, cancellationToken);
            await WriteNullableAsync(importer, model.DateTo, NpgsqlDbType.Date, cancellationToken);
            await importer.WriteAsync(model.PayloadJson, NpgsqlDbType.Jsonb, cancellationToken);
            await importer.WriteAsync(model.Version, NpgsqlDbType.Bigint, cancellationToken);
            await importer.WriteAsync(model.UpdatedAt, NpgsqlDbType.TimestampTz, cancellationToken);
            await importer.WriteAsync(model.Deleted, NpgsqlDbType.Boolean, cancellationToken);
        }

        await importer.CompleteAsync(cancellationToken);
    }

    /// <summary>
    /// Applies a prepared page: upsert of the changed models, one message per change, cursor, the run's counters (none
    /// for a sweep's page, <paramref name="runId"/> null), commit. A model is never replaced by an older row of it, and
    /// the cursor never moves back: a sweep reads its look-back window again, which must change nothing.
    /// </summary>
    private async Task<PageResult> CompletePageAsync(
        Guid? runId, TenantInfo tenant, PreparedPage prepared, IReadOnlyDictionary<string, InsightDefinition> known, CancellationToken cancellationToken)
    {
        var page = prepared.Page;
        var byId = prepared.ById;
        var skippedTypes = prepared.SkippedTypes;
        var connection = prepared.Connection;
        var transaction = prepared.Transaction;
        var last = page.Models.MaxBy(m => (m.UpdatedAt, m.Id), CursorComparer.Instance)!;

        var timings = new double[4];
        timings[0] = prepared.CopyMs;
        var phase = Stopwatch.StartNew();
        var changed = new List<string>();
        if (byId.Count > 0)
        {
            await InsightModelWriter.ApplyStagedAsync(prepared.Database, connection, transaction, changed, cancellationToken);
            timings[1] = phase.Elapsed.TotalMilliseconds;
            phase.Restart();
            var messages = new List<OutgoingMessage>(changed.Count);
            using (var data = new ModelMessageWriter())
            {
                foreach (var id in changed)
                {
                    var model = byId[id];
                    var priority = known[model.Insight].IsHighPriority ? MessagePriority.High : MessagePriority.Normal;
                    messages.Add(OutgoingMessage.Create(ModelMessageWriter.MessageType, priority, data.Write(model)));
                }
            }

            await queue.EnqueueAsync(prepared.Database, connection, transaction, tenant, messages, cancellationToken);
            timings[2] = phase.Elapsed.TotalMilliseconds;
            phase.Restart();
        }

        // The cursor is the store's, in the page's transaction: the tenant's transaction never spans two servers.
        await using (var cursor = new NpgsqlCommand(
            """
            INSERT INTO insights_store.ingestion_cursors AS c (schema_name, updated_at, id) VALUES ($1, $2, $3)
            ON CONFLICT (schema_name) DO UPDATE SET updated_at = EXCLUDED.updated_at, id = EXCLUDED.id, moved_at = now()
            WHERE (c.updated_at, c.id COLLATE "C") < (EXCLUDED.updated_at, EXCLUDED.id COLLATE "C")
            """, connection, transaction))
        {
            cursor.Parameters.Add(new NpgsqlParameter { Value = tenant.Schema.Value });
            cursor.Parameters.Add(new NpgsqlParameter { Value = last.UpdatedAt });
            cursor.Parameters.Add(new NpgsqlParameter { Value = last.Id });
            await cursor.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        timings[3] = phase.Elapsed.TotalMilliseconds;
        queue.Committed(tenant.Id, ModelMessageWriter.MessageType, changed.Count);

        // The catalog's records follow the commit: its copy of the cursor (for the fleet's views), the run's counters.
        // Lost with a crash in between, the copy is repaired when the tenant's next run reads its cursor.
        var (billed, cost) = Billing(page);
        await using (var progress = dataSource.CreateBatch())
        {
            progress.BatchCommands.Add(CatalogCursorCommand(tenant.Id, last.UpdatedAt, last.Id));
            if (runId is { } run)
            {
                progress.BatchCommands.Add(new NpgsqlBatchCommand(
                """
                UPDATE catalog.ingestion_runs SET pages = pages + 1, rows_read = rows_read + $2, rows_changed = rows_changed + $3,
                    messages_enqueued = messages_enqueued + $3, skipped = skipped + $4,
                    skipped_types = (SELECT coalesce(jsonb_object_agg(key, total), '{}'::jsonb) FROM (
                        SELECT key, sum(value::bigint) AS total FROM (
                            SELECT * FROM jsonb_each_text(skipped_types) UNION ALL SELECT * FROM jsonb_each_text($5::jsonb)) AS both_sets
                        GROUP BY key) AS merged),
                    bytes_processed = bytes_processed + $6, bytes_billed = bytes_billed + $7, estimated_cost_usd = estimated_cost_usd + $8
                WHERE id = $1
                """)
                {
                    Parameters =
                {
                    new() { Value = run }, new() { Value = (long)page.Models.Count }, new() { Value = (long)changed.Count },
                    new() { Value = (long)skippedTypes.Values.Sum() }, new() { Value = JsonSerializer.Serialize(skippedTypes) },
                    new() { Value = page.BytesProcessed }, new() { Value = billed }, new() { Value = cost },
                },
                });
            }

            await progress.ExecuteNonQueryAsync(cancellationToken);
        }

        metrics.IngestionPage(page.Models.Count, changed.Count, billed);
        if (skippedTypes.Count > 0)
        {
            logger.LogWarning("Skipped {Count} models of unknown insight types {Types}", skippedTypes.Values.Sum(), string.Join(", ", skippedTypes.Keys));
        }

        return new PageResult(changed.Count, skippedTypes.Values.Sum(), timings, changed);
    }

    /// <summary>Bytes billed (processed when the source reports no billing) and their estimated cost.</summary>
    private (long Billed, decimal Cost) Billing(SourcePage page)
    {
        var billed = page.BytesBilled > 0 ? page.BytesBilled : page.BytesProcessed;
        return (billed, BigQueryCost.Estimate(billed, pricing.Value.PricePerTiB));
    }

    private async Task AddBytesAsync(Guid runId, SourcePage page, CancellationToken cancellationToken)
    {
        if (page.BytesProcessed == 0 && page.BytesBilled == 0)
        {
            return;
        }

        var (billed, cost) = Billing(page);
        await using var command = dataSource.CreateCommand(
            "UPDATE catalog.ingestion_runs SET bytes_processed = bytes_processed + $2, bytes_billed = bytes_billed + $3, estimated_cost_usd = estimated_cost_usd + $4 WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = runId });
        command.Parameters.Add(new NpgsqlParameter { Value = page.BytesProcessed });
        command.Parameters.Add(new NpgsqlParameter { Value = billed });
        command.Parameters.Add(new NpgsqlParameter { Value = cost });
        await command.ExecuteNonQueryAsync(cancellationToken);
        metrics.IngestionBilled(billed);
    }

    private static Task WriteNullableAsync<T>(NpgsqlBinaryImporter importer, T? value, NpgsqlDbType type, CancellationToken cancellationToken) =>
        value is null ? importer.WriteNullAsync(cancellationToken) : importer.WriteAsync(value, type, cancellationToken);

    private static Task WriteNullableAsync<T>(NpgsqlBinaryImporter importer, T? value, NpgsqlDbType type, CancellationToken cancellationToken)
        where T : struct =>
        value is null ? importer.WriteNullAsync(cancellationToken) : importer.WriteAsync(value.Value, type, cancellationToken);

    private async Task<bool> StartAsync(Guid runId, CancellationToken cancellationToken)
    {
        // Only a queued run starts; one still marked running is a dead worker's (this one holds the lock now).
        await using var command = dataSource.CreateCommand(
            "UPDATE catalog.ingestion_runs SET status = 'running', started_at = coalesce(started_at, now()) WHERE id = $1 AND status IN ('queued', 'running') RETURNING id");
        command.Parameters.Add(new NpgsqlParameter { Value = runId });
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    /// <summary>
    /// Records a run that read the source to its end, and the time of that check on the tenant's cursor row (created
    /// without a position if none). A scheduled run that read no model and billed nothing leaves no run behind. The
    /// tenant then rides the fleet sweep (its rows are the sweep's to apply), unless a sweep left rows of it aside
    /// after this run started reading: false then, and the tenant needs another run first.
    /// </summary>
    private async Task<bool> SucceedAsync(Guid runId, string tenantId)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            WITH empty AS (
                DELETE FROM catalog.ingestion_runs
                WHERE id = $1 AND trigger = $3 AND rows_read = 0 AND bytes_billed = 0
                RETURNING id
            ), finished AS (
                UPDATE catalog.ingestion_runs SET status = 'succeeded', error = NULL, finished_at = now()
                WHERE id = $1 AND NOT EXISTS (SELECT FROM empty)
            ), run AS (
                SELECT coalesce((SELECT started_at FROM catalog.ingestion_runs WHERE id = $1), now()) AS started_at
            ), cursor AS (
                INSERT INTO catalog.ingestion_cursors AS c (tenant_id, checked_at, moved_at, riding_since)
                SELECT $2, now(), NULL, run.started_at FROM run WHERE EXISTS (SELECT FROM {TenantRows.Tenants} WHERE id = $2)
                ON CONFLICT (tenant_id) DO UPDATE SET checked_at = EXCLUDED.checked_at,
                    riding_since = CASE WHEN c.deferred_at IS NULL OR c.deferred_at < EXCLUDED.riding_since THEN EXCLUDED.riding_since END
                RETURNING riding_since
            )
            SELECT NOT EXISTS (SELECT FROM cursor WHERE riding_since IS NULL)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = runId });
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        command.Parameters.Add(new NpgsqlParameter { Value = IngestionScheduler.Trigger });
        return (bool)(await command.ExecuteScalarAsync(CancellationToken.None))!;
    }

    private async Task FinishAsync(Guid runId, string status, string? error)
    {
        await using var command = dataSource.CreateCommand(
            "UPDATE catalog.ingestion_runs SET status = $2, error = $3, finished_at = now() WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = runId });
        command.Parameters.Add(new NpgsqlParameter { Value = status });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)error ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        await command.ExecuteNonQueryAsync(CancellationToken.None);
        metrics.IngestionRunFinished(status);
    }

    /// <summary>
    /// The tenant's cursor, from its store; the catalog's copy is brought up to it when a crash left it behind (one
    /// read of each, a write only then).
    /// </summary>
    private async Task<SourceCursor?> ReadCursorAsync(TenantInfo tenant, CancellationToken cancellationToken)
    {
        SourceCursor? cursor = null;
        await using (var command = connections.For(tenant).CreateCommand("SELECT updated_at, id FROM insights_store.ingestion_cursors WHERE schema_name = $1"))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = tenant.Schema.Value });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                cursor = new SourceCursor(reader.GetFieldValue<DateTimeOffset>(0), reader.GetString(1));
            }
        }

        if (cursor is null)
        {
            return null;
        }

        await using (var copy = dataSource.CreateCommand("SELECT updated_at, id FROM catalog.ingestion_cursors WHERE tenant_id = $1"))
        {
            copy.Parameters.Add(new NpgsqlParameter { Value = tenant.Id });
            await using var reader = await copy.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken) && !reader.IsDBNull(0)
                && reader.GetFieldValue<DateTimeOffset>(0) == cursor.UpdatedAt && reader.GetString(1) == cursor.Id)
            {
                return cursor;
            }
        }

        await using var repair = dataSource.CreateBatch();
        repair.BatchCommands.Add(CatalogCursorCommand(tenant.Id, cursor.UpdatedAt, cursor.Id));
        await repair.ExecuteNonQueryAsync(cancellationToken);
        return cursor;
    }

    /// <summary>The catalog's copy of a tenant's cursor moved to a position, never back.</summary>
    private static NpgsqlBatchCommand CatalogCursorCommand(string tenantId, DateTimeOffset updatedAt, string id) => new(
        """
        INSERT INTO catalog.ingestion_cursors AS c (tenant_id, updated_at, id) VALUES ($1, $2, $3)
        ON CONFLICT (tenant_id) DO UPDATE SET updated_at = EXCLUDED.updated_at, id = EXCLUDED.id, moved_at = now()
        WHERE c.updated_at IS NULL OR (c.updated_at, c.id COLLATE "C") < (EXCLUDED.updated_at, EXCLUDED.id COLLATE "C")
        """)
    {
        Parameters = { new() { Value = tenantId }, new() { Value = updatedAt }, new() { Value = id } },
    };

    /// <summary>What admins read in the run: the source's own message where meant for people, never SQL.</summary>
    private static string Describe(Exception e) => e switch
    {
        PostgresException => "Storing a page failed; the service log has the cause.",
        NpgsqlException => "The database could not be reached while storing a page; the next run resumes from the cursor.",
        _ => e.Message,
    };

    private sealed class CursorComparer : IComparer<(DateTimeOffset UpdatedAt, string Id)>
    {
        public static readonly CursorComparer Instance = new();

        public int Compare((DateTimeOffset UpdatedAt, string Id) x, (DateTimeOffset UpdatedAt, string Id) y)
        {
            var byTime = x.UpdatedAt.CompareTo(y.UpdatedAt);
            return byTime != 0 ? byTime : string.CompareOrdinal(x.Id, y.Id);
        }
    }
}
