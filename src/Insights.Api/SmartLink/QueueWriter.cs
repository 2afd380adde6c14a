using Insights.Tenancy;

namespace Insights.SmartLink;

/// <summary>
/// The internal enqueue API. Callers pass their own connection and transaction, so the messages commit (or not) with
/// the rest of their work, and count them (<see cref="Committed(string, IReadOnlyList{OutgoingMessage})"/>) after it, also for the tenant's health
/// (<see cref="IQueueActivity"/>); waiting receivers on every node are woken by a notification sent at commit.
/// </summary>
public sealed class QueueWriter(InsightsMetrics? metrics = null, IQueueActivity? activity = null)
{
    /// <summary>Batches larger than this go through binary COPY.</summary>
    private const int CopyThreshold = 32;

    public async Task EnqueueAsync(
        TenantDatabase database,
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        TenantInfo tenant,
        IReadOnlyList<OutgoingMessage> messages,
        CancellationToken cancellationToken)
    {
        if (messages.Count == 0)
        {
            return;
        }

        var now = DateTimeOffset.UtcNow;
        var table = database.Table(TenantQueues.Messages);
        using var envelopes = new EnvelopeWriter(tenant.Id, now);
        if (messages.Count > CopyThreshold)
        {
            await using var importer = await connection.BeginBinaryImportAsync(
                $"COPY {table} (id, type, priority, envelope, enqueued_at, visible_at) FROM STDIN (FORMAT BINARY)", cancellationToken);
            foreach (var message in messages)
            {
                await importer.StartRowAsync(cancellationToken);
                await importer.WriteAsync(message.Id, NpgsqlDbType.Uuid, cancellationToken);
                await importer.WriteAsync(message.Type, NpgsqlDbType.Text, cancellationToken);
                await importer.WriteAsync((short)message.Priority, NpgsqlDbType.Smallint, cancellationToken);

                // Copied into the import's buffer before the write completes: the envelope's buffer is reused after it.
                await importer.WriteAsync(envelopes.Write(message), NpgsqlDbType.Text, cancellationToken);
                await importer.WriteAsync(now, NpgsqlDbType.TimestampTz, cancellationToken);
                await importer.WriteAsync(now, NpgsqlDbType.TimestampTz, cancellationToken);
            }

            await importer.CompleteAsync(cancellationToken);
        }
        else
        {
            await using var batch = new NpgsqlBatch(connection, transaction);
            foreach (var message in messages)
            {
                batch.BatchCommands.Add(new NpgsqlBatchCommand(
                    $"INSERT INTO {table} (id, type, priority, envelope, enqueued_at, visible_at) VALUES ($1, $2, $3, $4, $5, $5)")
                {
                    Parameters =
                    {
                        new() { Value = message.Id },
                        new() { Value = message.Type },
                        new() { Value = (short)message.Priority },
                        new() { Value = envelopes.Write(message).ToArray(), NpgsqlDbType = NpgsqlDbType.Text },
                        new() { Value = now },
                    },
                });
            }

            await batch.ExecuteNonQueryAsync(cancellationToken);
        }

        await QueueSignals.NotifyAsync(connection, transaction, tenant.Id, cancellationToken);
    }

    /// <summary>
    /// Enqueues one message unless a message with its id is already queued; true when this call added it. With an id
    /// derived from what caused the message, a redelivered cause enqueues nothing twice.
    /// </summary>
    public async Task<bool> EnqueueOnceAsync(TenantDatabases connections, TenantInfo tenant, OutgoingMessage message, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        var database = connections.For(tenant);
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var command = new NpgsqlCommand(
            $"INSERT INTO {database.Table(TenantQueues.Messages)} (id, type, priority, envelope, enqueued_at, visible_at) VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (id) DO NOTHING",
            connection,
            transaction))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = message.Id });
            command.Parameters.Add(new NpgsqlParameter { Value = message.Type });
            command.Parameters.Add(new NpgsqlParameter { Value = (short)message.Priority });
            command.Parameters.Add(new NpgsqlParameter { Value = Envelope.Build(tenant.Id, message, now), NpgsqlDbType = NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { Value = now });
            if (await command.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                return false;
            }
        }

        await QueueSignals.NotifyAsync(connection, transaction, tenant.Id, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        Committed(tenant.Id, message.Type, 1);
        return true;
    }

    /// <summary>Enqueues in a transaction of its own.</summary>
    public async Task EnqueueAsync(TenantDatabases connections, TenantInfo tenant, IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken)
    {
        var database = connections.For(tenant);
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await EnqueueAsync(database, connection, transaction, tenant, messages, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        Committed(tenant.Id, messages);
    }

    /// <summary>
    /// Counts messages once their transaction committed (the enqueue inside a caller's transaction leaves that to the
    /// caller), by type: runs of one type, as batches are.
    /// </summary>
    public void Committed(string tenantId, IReadOnlyList<OutgoingMessage> messages)
    {
        activity?.Enqueued(tenantId, messages.Count);
        if (metrics is null)
        {
            return;
        }

        var start = 0;
        for (var i = 1; i <= messages.Count; i++)
        {
            if (i == messages.Count || messages[i].Type != messages[start].Type)
            {
                metrics.Enqueued(messages[start].Type, i - start);
                start = i;
            }
        }
    }

    /// <summary><paramref name="count"/> messages of one type committed to the tenant's queue.</summary>
    public void Committed(string tenantId, string type, int count)
    {
        activity?.Enqueued(tenantId, count);
        metrics?.Enqueued(type, count);
    }
}
