using Insights.Messaging;
using Insights.Tenancy;

namespace Insights.Ingestion;

/// <summary>
/// Keeps queued and running runs moving (scheduler role), resending the command when none waits in the outbox: of a
/// run queued for <see cref="IngestionRunOptions.ResendQueuedAfter"/> (failed after
/// <see cref="IngestionRunOptions.MaxResends"/>), of a run whose worker died (the tenant's lock is free; the next
/// worker resumes from the cursor), and of the fleet sweep (<see cref="FleetSweepTrigger.ResendStalledAsync"/>). The
/// look reads a partial index of runs in flight, so it costs what is in flight, not the fleet. On the same timer,
/// <see cref="IngestionRunRetention"/> deletes runs older than <see cref="IngestionRunOptions.RunRetention"/>.
/// </summary>
internal sealed class IngestionRunReaper(
    CatalogDatabase dataSource, Outbox outbox, IngestionRunRetention retention, FleetSweepTrigger sweeps, IOptions<IngestionRunOptions> options,
    ILogger<IngestionRunReaper> logger)
    : BackgroundService
{
    public static string LostCommand(int sends) =>
        $"No worker started this run although its command was sent {sends} times; the next request queues a new one.";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        using var timer = new PeriodicTimer(settings.ReaperInterval);
        var failing = false;
        while (await timer.WaitForNextTickAsync(stoppingToken).AsTask().ContinueWith(t => !t.IsCanceled && t.Result, TaskScheduler.Default))
        {
            try
            {
                await ReapAsync(settings, stoppingToken);
                if (await sweeps.ResendStalledAsync(stoppingToken) is { } sweep)
                {
                    logger.LogInformation("Ingestion sweep {SweepId} had no worker at it; its command was sent again", sweep);
                }

                await retention.TrimAsync(stoppingToken);
                failing = false;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException && !stoppingToken.IsCancellationRequested)
            {
                if (!failing)
                {
                    logger.LogWarning("Looking for stalled or expired ingestion runs failed; retrying every {Seconds} s: {Reason}", settings.ReaperInterval.TotalSeconds, e.Message);
                }

                failing = true;
            }
        }
    }

    public async Task ReapAsync(IngestionRunOptions settings, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var stalled = new List<(Guid Id, string TenantId, string Status, int Resends)>();
        await using (var find = new NpgsqlCommand(
            $"""
            SELECT r.id, r.tenant_id, r.status, r.resends FROM catalog.ingestion_runs r
            WHERE r.status IN ('queued', 'running')
              AND NOT EXISTS (SELECT 1 FROM {OutboxRows.Outbox} o WHERE o.dedupe_key = 'StartIngestion:' || replace(r.id::text, '-', ''))
              AND CASE r.status
                  WHEN 'queued' THEN r.requested_at < now() - $1 * (r.resends + 1)
                  ELSE NOT EXISTS (
                      SELECT 1 FROM pg_locks l
                      WHERE l.locktype = 'advisory' AND l.classid = $2::int4::oid AND l.objid = hashtext(r.tenant_id)::oid AND l.objsubid = 2)
                  END
            FOR UPDATE OF r SKIP LOCKED
            """, connection, transaction))
        {
            find.Parameters.Add(new NpgsqlParameter { Value = settings.ResendQueuedAfter });
            find.Parameters.Add(new NpgsqlParameter { Value = IngestionRunner.LockNamespace });
            await using var reader = await find.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                stalled.Add((reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3)));
            }
        }

        foreach (var run in stalled)
        {
            if (run.Status == "queued" && run.Resends >= settings.MaxResends)
            {
                await using var fail = new NpgsqlCommand(
                    "UPDATE catalog.ingestion_runs SET status = 'failed', error = $2, finished_at = now() WHERE id = $1", connection, transaction);
                fail.Parameters.Add(new NpgsqlParameter { Value = run.Id });
                fail.Parameters.Add(new NpgsqlParameter { Value = LostCommand(run.Resends + 1) });
                await fail.ExecuteNonQueryAsync(cancellationToken);
                logger.LogWarning("Ingestion run {RunId} of tenant {TenantId} failed: no worker started it", run.Id, run.TenantId);
                continue;
            }

            await outbox.AddAsync(connection, transaction, new StartIngestion(run.Id, run.TenantId), cancellationToken, dedupeKey: IngestionTrigger.CommandKey(run.Id));
            if (run.Status == "queued")
            {
                await using var count = new NpgsqlCommand("UPDATE catalog.ingestion_runs SET resends = resends + 1 WHERE id = $1", connection, transaction);
                count.Parameters.Add(new NpgsqlParameter { Value = run.Id });
                await count.ExecuteNonQueryAsync(cancellationToken);
            }

            logger.LogInformation("Ingestion run {RunId} of tenant {TenantId} ({Status}) had no worker at it; its command was sent again", run.Id, run.TenantId, run.Status);
        }

        await transaction.CommitAsync(cancellationToken);
    }
}
