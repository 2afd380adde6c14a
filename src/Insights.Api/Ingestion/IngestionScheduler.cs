namespace Insights.Ingestion;

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
