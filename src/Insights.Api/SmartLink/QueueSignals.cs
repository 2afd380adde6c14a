using System.Collections.Concurrent;
using Npgsql;

namespace Insights.SmartLink;

/// <summary>
/// Wakes long-polling receivers when a message is enqueued for their tenant, on this node or any other: enqueues send a
/// PostgreSQL notification (delivered at commit), and one listening connection per node fans it out to local waiters.
/// </summary>
public sealed class QueueSignals(NpgsqlDataSource dataSource, ILogger<QueueSignals> logger) : BackgroundService
{
    public const string Channel = "insights_queue";

    private readonly ConcurrentDictionary<string, TaskCompletionSource> current = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the node listens (tests use it to avoid racing the first notification).</summary>
    public Task Listening => listening.Task;

    public static async Task NotifyAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string tenantId, CancellationToken cancellationToken)
    {
        await using var notify = new NpgsqlCommand("SELECT pg_notify('" + Channel + "', $1)", connection, transaction);
        notify.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        await notify.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// The signal a receiver waits on. Take it <em>before</em> looking for messages: an enqueue committed after that
    /// look completes it.
    /// </summary>
    public Task Next(string tenantId) =>
        current.GetOrAdd(tenantId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public void Signal(string tenantId)
    {
        if (current.TryRemove(tenantId, out var waiters))
        {
            waiters.TrySetResult();
        }
    }

    private void SignalAll()
    {
        foreach (var tenantId in current.Keys)
        {
            Signal(tenantId);
        }
    }

    /// <summary>Pooled connections are not reset on return: the listening one stops listening before it goes back.</summary>
    private static async Task UnlistenAsync(NpgsqlConnection connection)
    {
        if (connection.State != System.Data.ConnectionState.Open)
        {
            return;
        }

        try
        {
            await using var unlisten = new NpgsqlCommand("UNLISTEN *", connection);
            await unlisten.ExecuteNonQueryAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            // A broken connection is not returned to the pool.
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var attempt = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, e) => Signal(e.Payload);
                await using (var listen = new NpgsqlCommand("LISTEN " + Channel, connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                attempt = 0;
                listening.TrySetResult();
                // Anything enqueued while no connection listened would otherwise wait for the receivers' timeouts.
                SignalAll();
                try
                {
                    while (!stoppingToken.IsCancellationRequested)
                    {
                        await connection.WaitAsync(stoppingToken);
                    }
                }
                finally
                {
                    await UnlistenAsync(connection);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                attempt++;
                logger.LogWarning("Queue notifications interrupted (attempt {Attempt}): {Reason}", attempt, e.Message);
                SignalAll();
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(attempt, 10)), stoppingToken);
            }
        }
    }
}
