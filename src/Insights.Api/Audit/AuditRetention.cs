namespace Insights.Audit;

/// <summary>Deletes audit records past <see cref="AuditOptions.Retention"/> (scheduler role), every <see cref="AuditOptions.TrimInterval"/>.</summary>
internal sealed class AuditRetention(AuditTrail trail, IOptions<AuditOptions> options, ILogger<AuditRetention> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        using var timer = new PeriodicTimer(settings.TrimInterval);
        do
        {
            try
            {
                var deleted = await trail.TrimAsync(settings.Retention, stoppingToken);
                if (deleted > 0)
                {
                    logger.LogInformation("Deleted {Count} audit records older than {Days:0.#} days", deleted, settings.Retention.TotalDays);
                }
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException && !stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Trimming the audit trail failed; retrying in {Interval}: {Reason}", settings.TrimInterval, e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).AsTask().ContinueWith(t => !t.IsCanceled && t.Result, TaskScheduler.Default));
    }
}
