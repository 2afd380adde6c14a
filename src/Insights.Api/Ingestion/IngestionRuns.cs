using Microsoft.EntityFrameworkCore;

namespace Insights.Ingestion;

/// <summary>The catalog's record of runs: at most one per tenant queued or running (a unique partial index).</summary>
public sealed class IngestionRuns(CatalogDatabase dataSource, CatalogContexts catalog)
{
    private const string Columns =
        "id, tenant_id, status, trigger, requested_at, started_at, finished_at, pages, rows_read, rows_changed, messages_enqueued, " +
        "skipped, skipped_types::text, bytes_processed, bytes_billed, estimated_cost_usd, error";

    /// <summary>
    /// Queues a run in <paramref name="transaction"/>, or returns the tenant's run already queued or running. A
    /// <paramref name="runId"/> makes the request idempotent: asked again, it returns that run.
    /// </summary>
    public static async Task<(IngestionRun Run, bool Created)> RequestAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string tenantId, string trigger, Guid? runId, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            await using (var insert = new NpgsqlCommand(
                $"""
                INSERT INTO catalog.ingestion_runs (id, tenant_id, status, trigger) VALUES ($1, $2, 'queued', $3)
                ON CONFLICT DO NOTHING
                RETURNING {Columns}
                """, connection, transaction))
            {
                insert.Parameters.Add(new NpgsqlParameter { Value = runId ?? Guid.CreateVersion7() });
                insert.Parameters.Add(new NpgsqlParameter { Value = tenantId });
                insert.Parameters.Add(new NpgsqlParameter { Value = trigger });
                await using var reader = await insert.ExecuteReaderAsync(cancellationToken);
                if (await reader.ReadAsync(cancellationToken))
                {
                    return (Read(reader), true);
                }
            }

            // The same request again (a redelivered event), or another run of the tenant queued or running.
            await using (var existing = new NpgsqlCommand(
                $"""
                SELECT {Columns} FROM catalog.ingestion_runs
                WHERE (id = $1 AND tenant_id = $2) OR (tenant_id = $2 AND status IN ('queued', 'running'))
                ORDER BY id = $1 DESC LIMIT 1
                """, connection, transaction))
            {
                existing.Parameters.Add(new NpgsqlParameter { Value = (object?)runId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
                existing.Parameters.Add(new NpgsqlParameter { Value = tenantId });
                IngestionRun? found = null;
                await using (var reader = await existing.ExecuteReaderAsync(cancellationToken))
                {
                    if (await reader.ReadAsync(cancellationToken))
                    {
                        found = Read(reader);
                    }
                }

                if (found is not null && (found.Trigger != IngestionScheduler.Trigger || trigger == IngestionScheduler.Trigger))
                {
                    return (found, false);
                }

                if (found is not null)
                {
                    // A scheduled run that finds nothing leaves no row, so a request that joins one makes it its own
                    // for the asker to follow; gone or finished meanwhile, the next attempt queues a new run.
                    await using var claim = new NpgsqlCommand(
                        $"""
                        UPDATE catalog.ingestion_runs SET trigger = $2
                        WHERE id = $1 AND trigger = $3 AND status IN ('queued', 'running')
                        RETURNING {Columns}
                        """, connection, transaction);
                    claim.Parameters.Add(new NpgsqlParameter { Value = found.Id });
                    claim.Parameters.Add(new NpgsqlParameter { Value = trigger });
                    claim.Parameters.Add(new NpgsqlParameter { Value = IngestionScheduler.Trigger });
                    await using var reader = await claim.ExecuteReaderAsync(cancellationToken);
                    if (await reader.ReadAsync(cancellationToken))
                    {
                        return (Read(reader), false);
                    }
                }
            }

            if (attempt >= 3)
            {
                throw new InvalidOperationException($"Could not queue an ingestion run for tenant '{tenantId}'.");
            }
        }
    }

    public async Task<IngestionRun?> GetAsync(string tenantId, Guid runId, CancellationToken cancellationToken)
    {
        await using var context = await catalog.CreateAsync(cancellationToken);
        var row = await context.Set<IngestionRunRow>().AsNoTracking().SingleOrDefaultAsync(r => r.TenantId == tenantId && r.Id == runId, cancellationToken);
        return row is null ? null : Run(row);
    }

    /// <summary>Newest first.</summary>
    public async Task<(List<IngestionRun> Items, bool More)> ListAsync(string tenantId, Guid? before, int limit, CancellationToken cancellationToken)
    {
        await using var context = await catalog.CreateAsync(cancellationToken);
        var query = context.Set<IngestionRunRow>().AsNoTracking().Where(r => r.TenantId == tenantId);
        if (before is { } id)
        {
            // Run ids are UUIDv7: ordered by creation, compared as PostgreSQL compares uuids.
            query = query.Where(r => r.Id.CompareTo(id) < 0);
        }

        var items = (await query.OrderByDescending(r => r.Id).Take(limit + 1).ToListAsync(cancellationToken)).Select(Run).ToList();
        return (items, PageRows.TrimExtra(items, limit));
    }

    private static IngestionRun Run(IngestionRunRow row) => new(
        row.Id, row.TenantId, row.Status, row.Trigger, row.RequestedAt, row.StartedAt, row.FinishedAt, row.Pages, row.RowsRead, row.RowsChanged,
        row.MessagesEnqueued, row.Skipped, new RawJson(row.SkippedTypes), row.BytesProcessed, row.BytesBilled, row.EstimatedCostUsd, row.Error);

    public async Task<IngestionTotals> TotalsAsync(string tenantId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            """
            SELECT count(r.id)::int, coalesce(sum(rows_read), 0)::bigint, coalesce(sum(rows_changed), 0)::bigint, coalesce(sum(messages_enqueued), 0)::bigint,
                   coalesce(sum(bytes_processed), 0)::bigint, coalesce(sum(bytes_billed), 0)::bigint, coalesce(sum(estimated_cost_usd), 0), max(finished_at),
                   c.checked_at, coalesce(c.swept_rows, 0), coalesce(c.swept_bytes_billed, 0), coalesce(c.swept_cost_usd, 0), c.riding_since, c.updated_at
            FROM (SELECT $1::text AS tenant_id) AS t
            LEFT JOIN catalog.ingestion_cursors c ON c.tenant_id = t.tenant_id
            LEFT JOIN catalog.ingestion_runs r ON r.tenant_id = t.tenant_id
            GROUP BY c.checked_at, c.swept_rows, c.swept_bytes_billed, c.swept_cost_usd, c.riding_since, c.updated_at
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new IngestionTotals(
            reader.GetInt32(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetDecimal(6),
            reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7), reader.IsDBNull(8) ? null : reader.GetFieldValue<DateTimeOffset>(8),
            reader.GetInt64(9), reader.GetInt64(10), reader.GetDecimal(11),
            reader.IsDBNull(12) ? null : reader.GetFieldValue<DateTimeOffset>(12), reader.IsDBNull(13) ? null : reader.GetFieldValue<DateTimeOffset>(13));
    }

    internal static IngestionRun Read(NpgsqlDataReader reader) => new(
        reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(4),
        reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5), reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6),
        reader.GetInt32(7), reader.GetInt64(8), reader.GetInt64(9), reader.GetInt64(10), reader.GetInt64(11), new RawJson(reader.GetString(12)),
        reader.GetInt64(13), reader.GetInt64(14), reader.GetDecimal(15), reader.IsDBNull(16) ? null : reader.GetString(16));
}
