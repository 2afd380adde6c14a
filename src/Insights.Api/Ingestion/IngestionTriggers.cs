using System.Collections.Concurrent;
using Insights.Database;
using Insights.Messaging;
using Insights.SmartLink;
using Insights.Tenancy;
using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Insights.Ingestion;

/// <summary>Execute a queued ingestion run (sent by the admin API, the scheduler, and provisioning).</summary>
public sealed record StartIngestion(Guid RunId, string TenantId);

public sealed class StartIngestionConsumer(IngestionRunner runner, IngestionRunsInFlight inFlight, IHostApplicationLifetime lifetime) : IConsumer<StartIngestion>
{
    public async Task Consume(ConsumeContext<StartIngestion> context)
    {
        // A stopping host interrupts the run at once: the page in hand rolls back and the next run resumes from the cursor.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        try
        {
            await inFlight.Track(runner.ExecuteAsync(context.Message.RunId, context.Message.TenantId, stop.Token));
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            // Recorded as interrupted; nothing to retry.
        }
    }
}

/// <summary>
/// The runs executing on this node. The bus does not hold the host's stop for a consumer still at work, so this does:
/// a stopping host waits until every interrupted run has rolled back its page and recorded how it ended, before the
/// database connections are disposed.
/// </summary>
public sealed class IngestionRunsInFlight(ILogger<IngestionRunsInFlight> logger) : IHostedService
{
    /// <summary>One completion per run in flight, set when the run ends however it ends: waiting on them never throws.</summary>
    private readonly ConcurrentDictionary<TaskCompletionSource, bool> running = new();

    public async Task Track(Task run)
    {
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        running.TryAdd(ended, true);
        try
        {
            await run;
        }
        finally
        {
            running.TryRemove(ended, out _);
            ended.SetResult();
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var runs = running.Keys.Select(r => r.Task).ToArray();
        try
        {
            await Task.WhenAll(runs).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("{Count} ingestion runs had not ended when the host's stop timed out; they resume at their next request", runs.Count(r => !r.IsCompleted));
        }
    }
}

/// <summary>At most <see cref="IngestionRunOptions.MaxParallelTenants"/> runs at once on each worker.</summary>
public sealed class StartIngestionConsumerDefinition : ConsumerDefinition<StartIngestionConsumer>
{
    private readonly int limit;

    public StartIngestionConsumerDefinition(IOptions<IngestionRunOptions> options)
    {
        limit = options.Value.MaxParallelTenants;
        ConcurrentMessageLimit = limit;
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<StartIngestionConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.PrefetchCount = limit;
        // A database that is away for a moment delays the run instead of leaving it to the reaper.
        endpointConfigurator.UseMessageRetry(r =>
        {
            r.Handle<NpgsqlException>(e => e.IsTransient);
            r.Intervals(500, 2000, 5000);
        });
    }
}

/// <summary>
/// A newly provisioned tenant gets its first run at once. The run's id derives from the event's, so a redelivered event
/// finds the run it queued the first time.
/// </summary>
public sealed class FirstIngestionConsumer(IngestionTrigger trigger) : IConsumer<TenantProvisioned>
{
    public const string Trigger = "provisioned";

    public Task Consume(ConsumeContext<TenantProvisioned> context) =>
        trigger.RequestAsync(
            context.Message.TenantId, Trigger, context.CancellationToken,
            context.MessageId is { } id ? MessageIds.DerivedFrom(id, "first-ingestion") : null);
}

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

    /// <summary>The same within the caller's transaction: the run and its command commit with the caller's change.</summary>
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

/// <summary>
/// Every <see cref="IngestionRunOptions.Interval"/>, queues a fleet sweep (scheduler role): one read of the source for
/// all tenants, whatever their number. A sweep still queued or running is not doubled; its command is sent again when
/// no worker has it.
/// </summary>
internal sealed class IngestionScheduler(FleetSweepTrigger sweeps, IOptions<IngestionRunOptions> options, ILogger<IngestionScheduler> logger) : BackgroundService
{
    /// <summary>The trigger of the scheduled per-tenant runs of earlier versions, still found in kept runs.</summary>
    public const string Trigger = "schedule";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Interval);
        do
        {
            try
            {
                var (id, created) = await sweeps.RequestAsync(stoppingToken);
                if (!created && id != Guid.Empty)
                {
                    logger.LogInformation("Ingestion sweep {SweepId} is still queued or running; no other sweep is queued", id);
                }
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException && !stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(e, "Queueing the ingestion sweep failed; retrying at the next interval");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).AsTask().ContinueWith(t => !t.IsCanceled && t.Result, TaskScheduler.Default));
    }
}
