using MassTransit;

namespace Insights.Messaging;

/// <summary>
/// Whether this node's bus is connected to its broker, from the bus's own health twice a second. The outbox relay
/// waits on it, online insights answer 503 at once without it, and an outage is logged when it starts and ends.
/// </summary>
public sealed class BusMonitor(IBusControl bus, ILogger<BusMonitor> logger) : BackgroundService, ServiceDefaults.IDependencyProbe
{

    private static readonly TimeSpan Every = TimeSpan.FromMilliseconds(500);

    /// <summary>How long a starting node waits for its first connection before reporting the bus unreachable.</summary>
    private static readonly TimeSpan StartGrace = TimeSpan.FromSeconds(10);

    private volatile TaskCompletionSource connected = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Raised when the bus is connected again after it was lost (not at the first connection).</summary>
    public event Action? Reconnected;

    /// <summary>
    /// Whether the bus is connected now (its own health, read afresh). MassTransit reports a lost broker as degraded
    /// endpoints, so only healthy counts.
    /// </summary>
    public bool IsConnected => bus.CheckHealth().Status == BusHealthStatus.Healthy;

    /// <summary>The bus's broker (always up on the in-memory bus).</summary>
    public string Dependency => "rabbitmq";

    public bool IsUp => IsConnected;

    /// <summary>Completes when the bus is connected: at once if it is, else when the monitor sees it back.</summary>
    public Task WhenConnectedAsync(CancellationToken cancellationToken)
    {
        if (IsConnected)
        {
            return Task.CompletedTask;
        }

        // Lost since the monitor last looked: wait for its next look, not on the signal completed before.
        var current = connected;
        if (current.Task.IsCompleted)
        {
            var fresh = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            current = Interlocked.CompareExchange(ref connected, fresh, current) == current ? fresh : connected;
        }

        return current.Task.WaitAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var startedAt = DateTimeOffset.UtcNow;
        DateTimeOffset? lostAt = null;
        var everConnected = false;
        var wasUp = false;
        using var timer = new PeriodicTimer(Every);
        do
        {
            var health = bus.CheckHealth();
            var up = health.Status == BusHealthStatus.Healthy;
            if (up)
            {
                connected.TrySetResult();
            }
            else if (connected.Task.IsCompleted)
            {
                var current = connected;
                Interlocked.CompareExchange(ref connected, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), current);
            }

            if (up && !wasUp)
            {
                if (lostAt is { } since)
                {
                    logger.LogInformation("The message bus is connected again after {Seconds:0.0} s", (DateTimeOffset.UtcNow - since).TotalSeconds);
                }

                if (everConnected)
                {
                    Reconnected?.Invoke();
                }

                lostAt = null;
                everConnected = true;
            }
            else if (!up && wasUp)
            {
                lostAt = DateTimeOffset.UtcNow;
                logger.LogWarning("The message bus lost its broker ({Description}); commands and events wait in the outbox until it is back", health.Description);
            }
            else if (!up && !everConnected && lostAt is null && DateTimeOffset.UtcNow - startedAt > StartGrace)
            {
                lostAt = startedAt;
                logger.LogWarning("The message bus has not reached its broker since the node started ({Description}); the node serves what needs only PostgreSQL meanwhile", health.Description);
            }

            wasUp = up;
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).AsTask().ContinueWith(t => !t.IsCanceled && t.Result, TaskScheduler.Default));
    }
}
