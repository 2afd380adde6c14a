using MassTransit;

namespace Insights.Messaging;

/// <summary>
/// Hands the outbox to the bus: one relay per node, woken by the notification of each commit that adds to the
/// outbox (and every half minute, in case one was missed). Nodes share the rows with <c>FOR UPDATE SKIP LOCKED</c>;
/// a row is deleted only after the broker confirmed it, so a message is published at least once, and consumers are
/// idempotent on what it names. While the bus is disconnected the relay waits for it instead of failing.
/// </summary>
public sealed class OutboxRelay : BackgroundService
{
    public const int BatchSize = 100;

    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan MinPause = TimeSpan.FromMilliseconds(200);

    private readonly CatalogDatabase dataSource;
    private readonly IBus bus;
    private readonly BusMonitor monitor;
    private readonly ILogger<OutboxRelay> logger;
    private readonly Dictionary<string, Type> types;

    /// <summary>
    /// With an in-memory bus, the node whose rows this relay takes (and dead nodes' orphans); null with a broker.
    /// </summary>
    private readonly Guid? onlyFrom;
    private TaskCompletionSource wake = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public OutboxRelay(
        CatalogDatabase dataSource, DatabaseNotifications notifications, IBus bus, BusMonitor monitor, IEnumerable<OutboxMessageType> types,
        Outbox outbox, Microsoft.Extensions.Options.IOptions<BusOptions> busOptions, ILogger<OutboxRelay> logger)
    {
        onlyFrom = busOptions.Value.UsesRabbitMq ? null : outbox.NodeId;
        this.dataSource = dataSource;
        this.bus = bus;
        this.monitor = monitor;
        this.logger = logger;
        this.types = types.DistinctBy(t => t.Type).ToDictionary(t => t.Name, t => t.Type, StringComparer.Ordinal);
        notifications.Subscribe(Outbox.Channel, _ => Wake(), Wake);
    }

    private void Wake() => Interlocked.Exchange(ref wake, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        DateTimeOffset? failingSince = null;
        var delay = TimeSpan.FromMilliseconds(250);
        while (!stoppingToken.IsCancellationRequested)
        {
            // Taken before looking, so a commit after the look wakes the next wait.
            var woken = Volatile.Read(ref wake).Task;
            try
            {
                await monitor.WhenConnectedAsync(stoppingToken);
                var (relayed, nextDueIn) = await RelayBatchAsync(stoppingToken);
                if (failingSince is { } since)
                {
                    logger.LogInformation("The outbox relay works again after {Seconds:0.0} s", (DateTimeOffset.UtcNow - since).TotalSeconds);
                    failingSince = null;
                }

                delay = TimeSpan.FromMilliseconds(250);
                if (relayed == BatchSize)
                {
                    continue;
                }

                var wait = nextDueIn is { } due && due < Poll ? due : Poll;
                await Task.WhenAny(woken, Task.Delay(wait, stoppingToken));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                if (failingSince is null)
                {
                    failingSince = DateTimeOffset.UtcNow;
                    logger.LogWarning("The outbox relay cannot read the outbox; retrying: {Reason}", e.Message);
                }

                await Task.Delay(delay, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
            }
        }
    }

    /// <summary>Publishes up to a batch of due messages: how many, and when the next one not yet due is.</summary>
    private async Task<(int Relayed, TimeSpan? NextDueIn)> RelayBatchAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var rows = new List<(long Position, Guid MessageId, string Type, string Body)>(BatchSize);
        await using (var select = new NpgsqlCommand(
            """
            SELECT position, message_id, message_type, body FROM catalog.outbox
            WHERE next_attempt_at <= now() AND ($2::uuid IS NULL OR origin = $2 OR created_at < now() - $3::interval)
            ORDER BY position LIMIT $1 FOR UPDATE SKIP LOCKED
            """, connection, transaction))
        {
            select.Parameters.Add(new NpgsqlParameter { Value = BatchSize });
            select.Parameters.Add(new NpgsqlParameter { Value = (object?)onlyFrom ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid });
            select.Parameters.Add(new NpgsqlParameter { Value = Outbox.OrphanedAfter });
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add((reader.GetInt64(0), reader.GetGuid(1), reader.GetString(2), reader.GetString(3)));
            }
        }

        if (rows.Count == 0)
        {
            await transaction.CommitAsync(cancellationToken);
            return (0, await NextDueInAsync(connection, cancellationToken));
        }

        // The batch's messages go out together; the broker's confirmations come back in any order.
        var outcomes = await Task.WhenAll(rows.Select(r => PublishAsync(r.MessageId, r.Type, r.Body, cancellationToken)));
        var published = rows.Where((_, i) => outcomes[i] is null).Select(r => r.Position).ToArray();
        await using (var batch = new NpgsqlBatch(connection, transaction))
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand("DELETE FROM catalog.outbox WHERE position = ANY($1)") { Parameters = { new() { Value = published } } });
            for (var i = 0; i < rows.Count; i++)
            {
                if (outcomes[i] is { } error)
                {
                    // Retried after a short pause that grows with the attempts (up to five seconds).
                    batch.BatchCommands.Add(new NpgsqlBatchCommand(
                        """
                        UPDATE catalog.outbox SET attempts = attempts + 1, last_error = $2,
                            next_attempt_at = now() + make_interval(secs => least(attempts + 1, 5))
                        WHERE position = $1
                        """)
                    {
                        Parameters = { new() { Value = rows[i].Position }, new() { Value = error } },
                    });
                }
            }

            await batch.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        var failed = rows.Count - published.Length;
        if (failed > 0)
        {
            logger.LogWarning("{Failed} of {Count} outbox messages could not be published; they are retried", failed, rows.Count);
        }

        return (failed > 0 ? 0 : rows.Count, failed > 0 ? TimeSpan.FromSeconds(1) : null);
    }

    /// <summary>Null when published; otherwise why not.</summary>
    private async Task<string?> PublishAsync(Guid messageId, string typeName, string body, CancellationToken cancellationToken)
    {
        if (!types.TryGetValue(typeName, out var type))
        {
            // Written by a newer version of the service: a node that knows the type relays it.
            return $"Unknown message type '{typeName}'.";
        }

        try
        {
            var message = JsonSerializer.Deserialize(body, type, JsonSerializerOptions.Web)
                ?? throw new JsonException("The body is null.");
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(PublishTimeout);
            await bus.Publish(message, type, context => context.MessageId = messageId, timeout.Token);
            return null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"The broker did not confirm within {PublishTimeout.TotalSeconds:0} s.";
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogDebug(e, "Publishing outbox message {MessageId} ({Type}) failed", messageId, typeName);
            return e.Message.Length > 500 ? e.Message[..500] : e.Message;
        }
    }

    /// <summary>
    /// When the next row is due; rows due already are another node's, which is publishing them (a short pause then,
    /// in case that node dies with them).
    /// </summary>
    private static async Task<TimeSpan?> NextDueInAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var next = new NpgsqlCommand("SELECT min(next_attempt_at) - now() FROM catalog.outbox", connection);
        return await next.ExecuteScalarAsync(cancellationToken) is TimeSpan due ? (due > MinPause ? due : MinPause) : null;
    }
}
