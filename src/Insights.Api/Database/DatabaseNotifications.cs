using System.Collections.Concurrent;

namespace Insights.Database;

/// <summary>
/// The node's listening connections, fanning PostgreSQL notifications (delivered at the sender's commit) out to this
/// node's subscribers: one on the catalog's database for every channel, one on each other store for the queue's.
/// Notifications sent while a connection is lost are lost with it; every subscriber hears of the gap on reconnect.
/// </summary>
public sealed class DatabaseNotifications(TenantDatabases connections, ILogger<DatabaseNotifications> logger) : BackgroundService
{
    /// <summary>The channel of tenants' queues, sent on the tenant's store.</summary>
    public const string QueueChannel = "insights_queue";

    /// <summary>The channels every node listens on.</summary>
    public static readonly string[] Channels = [QueueChannel, "insights_outbox", "insights_tenants"];

    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<string, Subscriber> subscribers = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Stores whose listening connection is not listening now (all of them until they first do).</summary>
    private int deaf = int.MaxValue;

    /// <summary>Completes once the node listens on every store (tests wait for it before notifying).</summary>
    public Task Listening => listening.Task;

    /// <summary>Whether the node listens on every store now; while it does not, notifications are lost.</summary>
    public bool Listens => Volatile.Read(ref deaf) == 0;

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

    /// <summary>Notifies <paramref name="channel"/>; inside a transaction it is delivered at the commit.</summary>
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

    /// <summary>Pooled connections are not reset on return, so the listener unlistens before it goes back.</summary>
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

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var stores = connections.StoreNames;
        Volatile.Write(ref deaf, stores.Count);
        return Task.WhenAll(stores.Select(store => store == TenantStoreSettings.Main
            ? ListenAsync(store, connections.Catalog, Channels, stoppingToken)
            : ListenAsync(store, connections.StoreWide(store), [QueueChannel], stoppingToken)));
    }

    private async Task ListenAsync(string store, PostgresDatabase dataSource, string[] channels, CancellationToken stoppingToken)
    {
        DateTimeOffset? lostAt = null;
        var delay = TimeSpan.FromMilliseconds(250);
        var firstListen = true;
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
                await using (var listen = new NpgsqlCommand(string.Concat(channels.Select(c => "LISTEN " + c + ";")), connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                if (lostAt is { } since)
                {
                    logger.LogInformation("Database notifications of store {Store} are back after {Seconds:0.0} s", store, (DateTimeOffset.UtcNow - since).TotalSeconds);
                    lostAt = null;
                }

                delay = TimeSpan.FromMilliseconds(250);
                if (Interlocked.Decrement(ref deaf) == 0)
                {
                    listening.TrySetResult();
                }

                firstListen = false;
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
                    Interlocked.Increment(ref deaf);
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
                    logger.LogWarning(
                        "Database notifications of store {Store} {State}; listening as soon as PostgreSQL answers: {Reason}",
                        store, firstListen ? "not available yet" : "interrupted", e.Message);
                }
                else
                {
                    logger.LogDebug("Database notifications of store {Store} still unavailable: {Reason}", store, e.Message);
                }

                Missed();
                await Task.Delay(delay, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
            }
        }
    }

    private sealed record Subscriber(Action<string> Notified, Action Missed);
}
