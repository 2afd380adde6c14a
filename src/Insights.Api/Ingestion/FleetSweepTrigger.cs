using Insights.Messaging;

namespace Insights.Ingestion;

/// <summary>
/// Queues sweeps and their commands together (the command through the outbox). At most one sweep is queued or running;
/// asked again, the trigger returns it, and sends its command again when it waited too long for a worker or its worker
/// died (a worker that still runs it holds the sweep's lock, and the copy is a no-op there).
/// </summary>
public sealed class FleetSweepTrigger(CatalogDatabase dataSource, Outbox outbox, IOptions<IngestionRunOptions> options)
{
    public static string CommandKey(Guid sweepId) => "StartSweep:" + sweepId.ToString("N");

    /// <summary>
    /// Sends the active sweep's command again when it waited too long for a worker or its worker died (the reaper, on
    /// its timer: a crashed sweep resumes well before the next interval). Queues nothing; returns the sweep resent.
    /// </summary>
    public async Task<Guid?> ResendStalledAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        Guid? id = null;
        await using (var find = new NpgsqlCommand(
            $"""
            SELECT s.id FROM catalog.ingestion_sweeps s
            WHERE s.status IN ('queued', 'running') AND {Stalled}
              AND NOT EXISTS (SELECT FROM {OutboxRows.Outbox} o WHERE o.dedupe_key = 'StartSweep:' || replace(s.id::text, '-', ''))
            FOR UPDATE OF s SKIP LOCKED
            """, connection, transaction))
        {
            find.Parameters.Add(new NpgsqlParameter { Value = options.Value.ResendQueuedAfter });
            find.Parameters.Add(new NpgsqlParameter { Value = FleetSweepRunner.LockNamespace });
            if (await find.ExecuteScalarAsync(cancellationToken) is Guid found)
            {
                id = found;
                await outbox.AddAsync(connection, transaction, new StartSweep(found), cancellationToken, dedupeKey: CommandKey(found));
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return id;
    }

    /// <summary>
    /// An active sweep no worker has: queued longer than $1 ago, or running with no session holding its lock ($2).
    /// </summary>
    private const string Stalled =
        """
        CASE s.status
            WHEN 'queued' THEN s.requested_at < now() - $1
            ELSE NOT EXISTS (
                SELECT FROM pg_locks l
                WHERE l.locktype = 'advisory' AND l.classid = $2::int4::oid AND l.objid = 0 AND l.objsubid = 2)
        END
        """;

    /// <summary>
    /// Queues a sweep unless one is active. It is an audit (a wider read, see
    /// <see cref="IngestionRunOptions.SweepAuditEvery"/>) when <paramref name="audit"/> says so, or by default when
    /// none succeeded within that time and a sweep read something before.
    /// </summary>
    public async Task<(Guid Id, bool Created)> RequestAsync(CancellationToken cancellationToken, bool? audit = null)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        Guid id;
        bool created;
        bool resend;
        await using (var request = new NpgsqlCommand(
            $"""
            WITH inserted AS (
                INSERT INTO catalog.ingestion_sweeps (id, status, audit)
                SELECT $3, 'queued', coalesce($4, EXISTS (SELECT FROM catalog.ingestion_fleet)
                    AND NOT EXISTS (SELECT FROM catalog.ingestion_sweeps WHERE audit AND status = 'succeeded' AND started_at >= now() - $5))
                ON CONFLICT DO NOTHING
                RETURNING id
            )
            SELECT id, true, true FROM inserted
            UNION ALL
            SELECT s.id, false, {Stalled}
            FROM catalog.ingestion_sweeps s
            WHERE s.status IN ('queued', 'running') AND NOT EXISTS (SELECT FROM inserted)
            """, connection, transaction))
        {
            request.Parameters.Add(new NpgsqlParameter { Value = options.Value.ResendQueuedAfter });
            request.Parameters.Add(new NpgsqlParameter { Value = FleetSweepRunner.LockNamespace });
            request.Parameters.Add(new NpgsqlParameter { Value = Guid.CreateVersion7() });
            request.Parameters.Add(new NpgsqlParameter { Value = (object?)audit ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Boolean });
            request.Parameters.Add(new NpgsqlParameter { Value = options.Value.SweepAuditEvery });
            await using var reader = await request.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                // The active sweep ended between the insert's conflict and the look: the next interval queues one.
                return (Guid.Empty, false);
            }

            (id, created, resend) = (reader.GetGuid(0), reader.GetBoolean(1), reader.GetBoolean(2));
        }

        if (resend)
        {
            await outbox.AddAsync(connection, transaction, new StartSweep(id), cancellationToken, dedupeKey: CommandKey(id));
        }

        await transaction.CommitAsync(cancellationToken);
        return (id, created);
    }
}
