using System.Collections.Concurrent;
using Npgsql;

namespace Insights.Database;

/// <summary>
/// The node's one listening connection: PostgreSQL notifications of every channel the service uses (sent inside a
/// transaction, delivered at its commit) fanned out to the subscribers of this node. When the connection is lost,
/// notifications sent meanwhile are lost with it: every subscriber hears of the gap once the node listens again.
/// </summary>
public sealed class DatabaseNotifications(NpgsqlDataSource dataSource, ILogger<DatabaseNotifications> logger) : BackgroundService
{
    /// <summary>The channels every node listens on.</summary>
    public static readonly string[] Channels = ["insights_queue", "insights_outbox", "insights_tenants"];

    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<string, Subscriber> subscribers = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private volatile bool listens;

    /// <summary>Completes once the node listens (tests use it to avoid racing the first notification).</summary>
    public Task Listening => listening.Task;

    /// <summary>Whether the node listens now: while it does not, notifications sent meanwhile are lost.</summary>
    public bool Listens => listens;

    /// <summary>
    /// Calls <paramref name="notified"/> with each notification's payload on <paramref name="channel"/>, and
    /// <paramref name="missed"/> after every reconnection (anything sent while nobody listened is unknown).
    /// </summary>
    public void Subscribe(string channel, Action<string> notified, Action missed)
    {
        if (!Channels.Contains(channel, StringComparer.Ordinal))
        {
            throw new ArgumentException($"The node does not listen on channel '{channel}'.", nameof(channel));
        }

        subscribers[channel] = new Subscriber(notified, missed);
    }

    /// <summary>Sends a notification on <paramref name="channel"/>; inside a transaction it is delivered at the commit.</summary>
    public static async Task NotifyAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, string channel, string payload, CancellationToken cancellationToken)
    {
        await using var notify = new NpgsqlCommand("SELECT pg_notify($1, $2)", connection, transaction);
        notify.Parameters.Add(new NpgsqlParameter { Value = channel });
        notify.Parameters.Add(new NpgsqlParameter { Value = payload });
        await notify.ExecuteNonQueryAsync(cancellationToken);
    }

    private void Missed()
    {
        foreach (var subscriber in subscribers.Values)
        {
            subscriber.Missed();
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
        DateTimeOffset? lostAt = null;
        var delay = TimeSpan.FromMilliseconds(250);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, e) =>
                {
                    if (subscribers.TryGetValue(e.Channel, out var subscriber))
                    {
                        subscriber.Notified(e.Payload);
                    }
                };
                await using (var listen = new NpgsqlCommand(string.Concat(Channels.Select(c => "LISTEN " + c + ";")), connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                if (lostAt is { } since)
                {
                    logger.LogInformation("Database notifications are back after {Seconds:0.0} s", (DateTimeOffset.UtcNow - since).TotalSeconds);
                    lostAt = null;
                }

                delay = TimeSpan.FromMilliseconds(250);
                listens = true;
                listening.TrySetResult();
                Missed();
                try
                {
                    while (!stoppingToken.IsCancellationRequested)
                    {
                        await connection.WaitAsync(stoppingToken);
                    }
                }
                finally
                {
                    listens = false;
                    await UnlistenAsync(connection);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException or System.IO.IOException)
            {
                // One line per outage; the attempts in between are for the debug log.
                if (lostAt is null)
                {
                    lostAt = DateTimeOffset.UtcNow;
                    logger.LogWarning("Database notifications interrupted; listening again as soon as PostgreSQL answers: {Reason}", e.Message);
                }
                else
                {
                    logger.LogDebug("Database notifications still unavailable: {Reason}", e.Message);
                }

                Missed();
                await Task.Delay(delay, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
            }
        }
    }

    private sealed record Subscriber(Action<string> Notified, Action Missed);
}
