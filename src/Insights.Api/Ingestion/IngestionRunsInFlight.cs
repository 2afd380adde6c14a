using System.Collections.Concurrent;

namespace Insights.Ingestion;

/// <summary>
/// The runs executing on this node. The bus does not hold the host's stop for a consumer still at work, so this does:
/// a stopping host waits until every interrupted run has rolled back its page and recorded how it ended, before the
/// database connections are disposed (docs/decisions/0006-ingestion-pages-of-2500-two-in-flight.md).
/// </summary>
public sealed class IngestionRunsInFlight(ILogger<IngestionRunsInFlight> logger) : IHostedService
{
    /// <summary>One completion per run in flight, set however the run ends: waiting on them never throws.</summary>
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
