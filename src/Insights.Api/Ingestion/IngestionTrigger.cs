using Insights.Messaging;

namespace Insights.Ingestion;

/// <summary>
/// Queues runs and their commands together: the run and its <see cref="StartIngestion"/> commit in one transaction (the
/// command through the outbox), so a request answers without waiting for the broker and a queued run always has a
/// command on its way. A tenant with a run queued or running gets that run back.
/// </summary>
public sealed class IngestionTrigger(CatalogDatabase dataSource, Outbox outbox, IOptions<IngestionRunOptions> options)
{
    public static string CommandKey(Guid runId) => "StartIngestion:" + runId.ToString("N");

    public async Task<IngestionRun> RequestAsync(string tenantId, string trigger, CancellationToken cancellationToken, Guid? runId = null)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var run = await RequestAsync(connection, transaction, tenantId, trigger, cancellationToken, runId);
        await transaction.CommitAsync(cancellationToken);
        return run;
    }

    /// <summary>The same in the caller's transaction: run and command commit with the caller's change.</summary>
    public async Task<IngestionRun> RequestAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string tenantId, string trigger, CancellationToken cancellationToken, Guid? runId = null)
    {
        var (run, created) = await IngestionRuns.RequestAsync(connection, transaction, tenantId, trigger, runId, cancellationToken);
        // A running run's command is sent again on every request: a no-op while its worker holds the tenant's lock, the
        // resumption of the run when that worker died. A run queued for long lost its command (an in-memory bus that
        // stopped): it is sent again too. The key keeps one command per run waiting in the outbox at a time.
        if (created || run.Status == "running" || run.RequestedAt < DateTimeOffset.UtcNow - options.Value.ResendQueuedAfter)
        {
            await outbox.AddAsync(connection, transaction, new StartIngestion(run.Id, tenantId), cancellationToken, dedupeKey: CommandKey(run.Id));
        }

        return run;
    }
}
