using System.Collections.Concurrent;
using Insights.Tenancy;

namespace Insights.SmartLink;

/// <summary>
/// Every tenant's queue, one tenant per call: leases with <c>FOR UPDATE SKIP LOCKED</c> (concurrent receivers never
/// share a message), acks and nacks by receipt, lease extension, dead letters, and the admin views. Every statement
/// reaches the tenant's table through its <see cref="TenantDatabase"/>; nothing here reads a schema from input. What
/// each statement did is also recorded in memory for the fleet health view (<see cref="IQueueActivity"/>), never
/// written to the catalog by it.
/// </summary>
public sealed class TenantQueues(
    TenantDatabases connections, IOptions<SmartLinkOptions> options, QueueAckMarks? marks = null, IQueueActivity? activity = null)
{
    private readonly QueueAckMarks marks = marks ?? new QueueAckMarks(TimeProvider.System);

    /// <summary>Tenants whose last receive on this node leased something: their next receive leases at once.</summary>
    private readonly ConcurrentDictionary<string, byte> delivering = new(StringComparer.Ordinal);

    /// <summary>The tenant table of the queue.</summary>
    internal const string Messages = "queue_messages";

    /// <summary>
    /// Leases, acks and lease extensions commit without waiting for the WAL flush: a crash only redelivers the last few
    /// (docs/decisions/0002-relaxed-commit-for-leases-and-acks.md). The setting is transaction-local: the batch is one
    /// implicit transaction, so nothing outlives it on the pooled connection.
    /// </summary>
    private static NpgsqlBatch RelaxedCommitBatch(TenantDatabase database, string sql, out NpgsqlBatchCommand command)
    {
        var batch = database.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT set_config('synchronous_commit', 'off', true)"));
        command = new NpgsqlBatchCommand(sql);
        batch.BatchCommands.Add(command);
        return batch;
    }

    public async Task<List<LeasedMessage>> LeaseAsync(TenantInfo tenant, int max, int visibilitySeconds, CancellationToken cancellationToken) =>
        (await ReceiveAsync(tenant, max, visibilitySeconds, cancellationToken)).Messages;

    /// <summary>
    /// Leases up to <paramref name="max"/> visible messages; when it leases none, tells when the tenant's next message
    /// becomes visible (a lease expiring, a delayed requeue), so a long poll can sleep until then without asking again.
    /// </summary>
    /// <remarks>
    /// A cheap look comes first and the lease only when something is visible, since most receives find an empty queue
    /// and nothing stays prepared per tenant; a tenant that just leased, or a woken caller, leases at once
    /// (docs/decisions/0014-receive-looks-before-it-leases.md).
    /// </remarks>
    public async Task<LeaseOutcome> ReceiveAsync(
        TenantInfo tenant, int max, int visibilitySeconds, CancellationToken cancellationToken, bool expectMessages = false)
    {
        if (!expectMessages && !delivering.ContainsKey(tenant.Id))
        {
            var lookedAt = DateTimeOffset.UtcNow;
            var (visible, nextVisibleAt) = await LookAsync(tenant, cancellationToken);
            if (!visible)
            {
                activity?.FoundNothing(tenant.Id, lookedAt);
                return new LeaseOutcome([], nextVisibleAt);
            }
        }

        var startedAt = DateTimeOffset.UtcNow;
        var (outcome, newestEnqueuedAt) = await LeaseVisibleAsync(tenant, max, visibilitySeconds, cancellationToken);
        activity?.Received(tenant.Id, startedAt, max, outcome.Messages.Count, outcome.Expired, outcome.Dead, newestEnqueuedAt);
        if (outcome.Messages.Count > 0)
        {
            delivering.TryAdd(tenant.Id, 0);
        }
        else
        {
            delivering.TryRemove(tenant.Id, out _);
        }

        return outcome;
    }

    /// <summary>
    /// A receive that found the queue empty from what the node knows (<see cref="QueueSignals"/>), without a statement.
    /// </summary>
    public void FoundNothingKnown(TenantInfo tenant) => activity?.FoundNothing(tenant.Id, DateTimeOffset.UtcNow);

    /// <summary>Whether a message is visible now; if not, when the next one will be (null: none waits).</summary>
    private async Task<(bool Visible, DateTimeOffset? NextVisibleAt)> LookAsync(TenantInfo tenant, CancellationToken cancellationToken)
    {
        var database = connections.For(tenant);
        // The earliest visible_at of waiting and leased messages, on the deliverable index: one aggregate is the
        // cheapest statement to plan that says both whether and when
        // (docs/decisions/0014-receive-looks-before-it-leases.md).
        await using var command = database.CreateCommand(
            $"SELECT min(visible_at), now() FROM {database.Table(Messages)} WHERE status IN ('ready', 'leased')");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        if (reader.IsDBNull(0))
        {
            return (false, null);
        }

        var next = reader.GetFieldValue<DateTimeOffset>(0);
        return next <= reader.GetFieldValue<DateTimeOffset>(1) ? (true, null) : (false, next);
    }

    /// <summary>
    /// Leases up to <paramref name="max"/> visible messages in one statement (its commit relaxed as above), which also
    /// tells when the next message becomes visible if it leased none, and counts the expired leases and dead letters.
    /// </summary>
    private async Task<(LeaseOutcome Outcome, DateTimeOffset? NewestEnqueuedAt)> LeaseVisibleAsync(TenantInfo tenant, int max, int visibilitySeconds, CancellationToken cancellationToken)
    {
        var database = connections.For(tenant);
        var table = database.Table(Messages);
        // The update finds the picked rows by an array of ids: as a join, the generic plan hashed the whole table
        // (docs/decisions/0013-lease-finds-picked-rows-by-id-array.md).
        await using var command = database.CreateCommand(
            $"""
            WITH relaxed AS MATERIALIZED (
                SELECT set_config('synchronous_commit', 'off', true) AS setting
            ), picked AS (
                SELECT id, status FROM {table}
                WHERE status IN ('ready', 'leased') AND visible_at <= now()
                ORDER BY priority DESC, seq
                LIMIT $1
                FOR UPDATE SKIP LOCKED
            ), leased AS (
                UPDATE {table} AS q SET
                    status = CASE WHEN q.delivery_count >= $3 THEN 'dead' ELSE 'leased' END,
                    dead_reason = CASE WHEN q.delivery_count >= $3 THEN 'MaxDeliveriesExceeded' ELSE q.dead_reason END,
                    finished_at = CASE WHEN q.delivery_count >= $3 THEN now() ELSE NULL END,
                    delivery_count = CASE WHEN q.delivery_count >= $3 THEN q.delivery_count ELSE q.delivery_count + 1 END,
                    lease_id = CASE WHEN q.delivery_count >= $3 THEN NULL ELSE gen_random_uuid() END,
                    visible_at = CASE WHEN q.delivery_count >= $3 THEN q.visible_at ELSE now() + make_interval(secs => $2) END,
                    leased_at = CASE WHEN q.delivery_count >= $3 THEN q.leased_at ELSE now() END,
                    history = CASE WHEN q.status = 'leased' OR q.delivery_count >= $3 THEN q.history
                        || CASE WHEN q.status = 'leased'
                                THEN jsonb_build_array(jsonb_build_object('event', 'expired', 'delivery', q.delivery_count, 'at', q.visible_at))
                                ELSE '[]'::jsonb END
                        || CASE WHEN q.delivery_count >= $3
                                THEN jsonb_build_array(jsonb_build_object('event', 'dead', 'reason', 'MaxDeliveriesExceeded', 'at', now()))
                                ELSE '[]'::jsonb END
                        ELSE q.history END
                WHERE q.id = ANY (ARRAY(SELECT id FROM picked)) AND (SELECT setting FROM relaxed) IS NOT NULL
                RETURNING q.id, q.status, q.lease_id, q.delivery_count, q.priority, q.seq, q.envelope, q.enqueued_at
            ), counted AS MATERIALIZED (
                SELECT (SELECT count(*) FROM picked WHERE status = 'leased')::int AS expired,
                       (SELECT count(*) FROM leased WHERE status = 'dead')::int AS dead
            )
            SELECT id, lease_id, delivery_count, envelope::text, enqueued_at, priority, seq, NULL::int, NULL::int FROM leased WHERE status = 'leased'
            UNION ALL
            SELECT NULL, NULL, NULL, NULL,
                   CASE WHEN NOT EXISTS (SELECT FROM leased WHERE status = 'leased')
                        THEN (SELECT min(visible_at) FROM {table} WHERE status IN ('ready', 'leased')) END,
                   NULL, NULL, expired, dead
            FROM counted
            ORDER BY 6 DESC NULLS LAST, 7
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = max });
        command.Parameters.Add(new NpgsqlParameter { Value = (double)visibilitySeconds });
        command.Parameters.Add(new NpgsqlParameter { Value = options.Value.MaxDeliveries });
        var messages = new List<LeasedMessage>(max);
        DateTimeOffset? nextVisibleAt = null;
        DateTimeOffset? newestEnqueuedAt = null;
        int expired = 0, dead = 0;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (reader.IsDBNull(0))
            {
                // The one row of counts; it also says when the next message becomes visible when none was leased.
                nextVisibleAt = reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4);
                expired = reader.GetInt32(7);
                dead = reader.GetInt32(8);
                continue;
            }

            var receipt = new Receipt(reader.GetGuid(0), reader.GetGuid(1));
            messages.Add(new LeasedMessage(receipt.ToString(), reader.GetInt32(2), new RawJson(reader.GetString(3))));
            var enqueuedAt = reader.GetFieldValue<DateTimeOffset>(4);
            if (newestEnqueuedAt is null || enqueuedAt > newestEnqueuedAt)
            {
                newestEnqueuedAt = enqueuedAt;
            }
        }

        return (new LeaseOutcome(messages, nextVisibleAt, expired, dead), newestEnqueuedAt);
    }

    public async Task<AckResult> AckAsync(TenantInfo tenant, IReadOnlyList<string> receipts, CancellationToken cancellationToken)
    {
        var database = connections.For(tenant);
        var (parsed, rejected) = Parse(receipts);
        if (parsed.Count == 0)
        {
            return new AckResult(0, rejected);
        }

        var table = database.Table(Messages);
        var acked = new HashSet<Receipt>();
        // A tenant's first ack on this node each day marks it for the purge in the catalog (maybe another server),
        // committed before the ack: an acked message never lacks its marker; at worst the purge visits for nothing.
        var day = marks.Today;
        if (marks.NeedsMark(tenant.Id, day))
        {
            await using var mark = connections.Catalog.CreateCommand(
                "INSERT INTO catalog.queue_ack_days (tenant_id, day, due_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING");
            mark.Parameters.Add(new NpgsqlParameter { Value = tenant.Id });
            mark.Parameters.Add(new NpgsqlParameter { Value = day });
            mark.Parameters.Add(new NpgsqlParameter { Value = QueuePurgeService.DueAt(day, options.Value.AckedRetention) });
            await mark.ExecuteNonQueryAsync(cancellationToken);
            marks.Marked(tenant.Id, day);
        }

        NpgsqlBatchCommand command;
        await using (var batch = RelaxedCommitBatch(
            database,
            $"""
            UPDATE {table} AS q SET status = 'acked', finished_at = now()
            FROM unnest($1::uuid[], $2::uuid[]) AS r(id, lease)
            WHERE q.id = r.id AND q.lease_id = r.lease AND q.status = 'leased' AND q.visible_at > now()
            RETURNING q.id, q.lease_id
            """,
            out command))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parsed.Select(p => p.MessageId).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = parsed.Select(p => p.LeaseId).ToArray() });
            await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
            await reader.NextResultAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                acked.Add(new Receipt(reader.GetGuid(0), reader.GetGuid(1)));
            }
        }

        // Receipts found acked already (below) were counted by the ack that acked them.
        var newlyAcked = acked.Count;

        var missing = parsed.Where(p => !acked.Contains(p)).Distinct().ToList();
        if (missing.Count > 0)
        {
            // Acking the same delivery twice is harmless: its receipt still names the acked delivery.
            await using var again = database.CreateCommand(
                $"""
                SELECT q.id, q.lease_id FROM {table} AS q JOIN unnest($1::uuid[], $2::uuid[]) AS r(id, lease)
                    ON q.id = r.id AND q.lease_id = r.lease
                WHERE q.status = 'acked'
                """);
            again.Parameters.Add(new NpgsqlParameter { Value = missing.Select(p => p.MessageId).ToArray() });
            again.Parameters.Add(new NpgsqlParameter { Value = missing.Select(p => p.LeaseId).ToArray() });
            await using var reader = await again.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                acked.Add(new Receipt(reader.GetGuid(0), reader.GetGuid(1)));
            }
        }

        rejected.AddRange(parsed.Where(p => !acked.Contains(p)).Select(p => p.ToString()));
        activity?.Acked(tenant.Id, newlyAcked);
        return new AckResult(acked.Count, rejected);
    }

    /// <summary>
    /// Dead-letters the delivery with the reason, or makes it visible again after a delay; null when the receipt is
    /// stale. A requeue notifies the tenant's long polls on every node at the commit, to learn when it is visible.
    /// </summary>
    public async Task<string?> NackAsync(TenantInfo tenant, Receipt receipt, string reason, bool requeue, int delaySeconds, CancellationToken cancellationToken)
    {
        var database = connections.For(tenant);
        await using var command = database.CreateCommand(
            $"""
            WITH nacked AS (
                UPDATE {database.Table(Messages)} AS q SET
                    status = CASE WHEN $3 THEN 'ready' ELSE 'dead' END,
                    visible_at = CASE WHEN $3 THEN now() + make_interval(secs => $4) ELSE q.visible_at END,
                    dead_reason = CASE WHEN $3 THEN q.dead_reason ELSE $5 END,
                    finished_at = CASE WHEN $3 THEN NULL ELSE now() END,
                    lease_id = NULL,
                    history = q.history || jsonb_build_array(jsonb_build_object(
                        'event', CASE WHEN $3 THEN 'requeued' ELSE 'nacked' END, 'delivery', q.delivery_count, 'reason', $5, 'at', now()))
                WHERE q.id = $1 AND q.lease_id = $2 AND q.status = 'leased' AND q.visible_at > now()
                RETURNING q.status
            )
            SELECT status, CASE WHEN status = 'ready' THEN pg_notify($6, $7) END FROM nacked
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = receipt.MessageId });
        command.Parameters.Add(new NpgsqlParameter { Value = receipt.LeaseId });
        command.Parameters.Add(new NpgsqlParameter { Value = requeue });
        command.Parameters.Add(new NpgsqlParameter { Value = (double)delaySeconds });
        command.Parameters.Add(new NpgsqlParameter { Value = reason });
        command.Parameters.Add(new NpgsqlParameter { Value = QueueSignals.Channel });
        command.Parameters.Add(new NpgsqlParameter { Value = tenant.Id });
        var status = await command.ExecuteScalarAsync(cancellationToken) as string;
        if (status is not null)
        {
            activity?.Nacked(tenant.Id, requeue, delaySeconds);
        }

        return status;
    }

    public async Task<LeaseResult> ExtendAsync(TenantInfo tenant, IReadOnlyList<string> receipts, int visibilitySeconds, CancellationToken cancellationToken)
    {
        var database = connections.For(tenant);
        var (parsed, rejected) = Parse(receipts);
        var extended = new HashSet<Receipt>();
        if (parsed.Count > 0)
        {
            // A lease cut shorter makes its message visible sooner than receivers were told: the tenant's long polls on
            // every node hear of it (a notification at the commit), as of an enqueue.
            await using var command = database.CreateCommand(
                $"""
                WITH extended AS (
                    UPDATE {database.Table(Messages)} AS q SET visible_at = now() + make_interval(secs => $3)
                    FROM unnest($1::uuid[], $2::uuid[]) AS r(id, lease), {database.Table(Messages)} AS before
                    WHERE q.id = r.id AND before.id = r.id AND q.lease_id = r.lease AND q.status = 'leased' AND q.visible_at > now()
                    RETURNING q.id, q.lease_id, q.visible_at < before.visible_at AS sooner
                ), woken AS (
                    SELECT pg_notify($4, $5) FROM extended WHERE sooner LIMIT 1
                )
                SELECT id, lease_id FROM extended CROSS JOIN (SELECT count(*) FROM woken) AS w
                """);
            command.Parameters.Add(new NpgsqlParameter { Value = parsed.Select(p => p.MessageId).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = parsed.Select(p => p.LeaseId).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = (double)visibilitySeconds });
            command.Parameters.Add(new NpgsqlParameter { Value = QueueSignals.Channel });
            command.Parameters.Add(new NpgsqlParameter { Value = tenant.Id });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                extended.Add(new Receipt(reader.GetGuid(0), reader.GetGuid(1)));
            }
        }

        rejected.AddRange(parsed.Where(p => !extended.Contains(p)).Select(p => p.ToString()));
        return new LeaseResult(extended.Count, rejected);
    }

    /// <summary>Records what Protheus did with a message. False when the tenant has no such message.</summary>
    public async Task<bool> RecordProcessingAsync(TenantInfo tenant, Guid messageId, string status, string? detail, CancellationToken cancellationToken)
    {
        var database = connections.For(tenant);
        await using var command = database.CreateCommand(
            $"""
            UPDATE {database.Table(Messages)} SET processing_status = $2, processing_detail = $3, processing_at = now(),
                history = history || jsonb_build_array(jsonb_build_object('event', 'processing', 'status', $2, 'detail', $3, 'at', now()))
            WHERE id = $1
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = messageId });
        command.Parameters.Add(new NpgsqlParameter { Value = status });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)detail ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        var recorded = await command.ExecuteNonQueryAsync(cancellationToken) == 1;
        if (recorded && status == "failed")
        {
            activity?.ProcessingFailed(tenant.Id);
        }

        return recorded;
    }

    /// <summary>In enqueue order (ids are UUIDv7), after <paramref name="afterId"/>.</summary>
    public async Task<(List<MessageSummary> Items, bool More)> ListAsync(
        TenantInfo tenant, string? status, string? type, Guid? afterId, int limit, CancellationToken cancellationToken)
    {
        var database = connections.For(tenant);
        await using var command = database.CreateCommand(
            $"""
            SELECT id, type, priority, status, delivery_count, enqueued_at, visible_at, dead_reason, processing_status
            FROM {database.Table(Messages)}
            WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR type = $2) AND ($3::uuid IS NULL OR id > $3)
            ORDER BY id LIMIT $4
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)status ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)type ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)afterId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.Add(new NpgsqlParameter { Value = limit + 1 });
        var items = new List<MessageSummary>(limit + 1);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(new MessageSummary(
                reader.GetGuid(0), reader.GetString(1), PriorityName(reader.GetInt16(2)), reader.GetString(3), reader.GetInt32(4),
                reader.GetFieldValue<DateTimeOffset>(5), reader.GetFieldValue<DateTimeOffset>(6),
                reader.IsDBNull(7) ? null : reader.GetString(7), reader.IsDBNull(8) ? null : reader.GetString(8)));
        }

        return (items, PageRows.TrimExtra(items, limit));
    }

    public async Task<MessageDetail?> GetAsync(TenantInfo tenant, Guid messageId, CancellationToken cancellationToken)
    {
        var database = connections.For(tenant);
        await using var command = database.CreateCommand(
            $"""
            SELECT id, type, priority, status, delivery_count, enqueued_at, visible_at, finished_at, dead_reason,
                   processing_status, processing_detail, processing_at, history::text, envelope::text, leased_at
            FROM {database.Table(Messages)} WHERE id = $1
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = messageId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new MessageDetail(
            reader.GetGuid(0), reader.GetString(1), PriorityName(reader.GetInt16(2)), reader.GetString(3), reader.GetInt32(4),
            reader.GetFieldValue<DateTimeOffset>(5), reader.GetFieldValue<DateTimeOffset>(6),
            reader.IsDBNull(14) ? null : reader.GetFieldValue<DateTimeOffset>(14),
            reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7),
            reader.IsDBNull(8) ? null : reader.GetString(8),
            reader.IsDBNull(9) ? null : new ProcessingReport(reader.GetString(9), reader.IsDBNull(10) ? null : reader.GetString(10), reader.GetFieldValue<DateTimeOffset>(11)),
            new RawJson(reader.GetString(12)),
            new RawJson(reader.GetString(13)));
    }

    /// <summary>The type, priority and data of a message, to enqueue a fresh copy of it.</summary>
    public async Task<OutgoingMessage?> CopyAsync(TenantInfo tenant, Guid messageId, CancellationToken cancellationToken)
    {
        var database = connections.For(tenant);
        await using var command = database.CreateCommand($"SELECT type, priority, (envelope::json -> 'data')::text FROM {database.Table(Messages)} WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = messageId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? OutgoingMessage.Create(reader.GetString(0), (MessagePriority)reader.GetInt16(1), reader.IsDBNull(2) ? "null" : reader.GetString(2))
            : null;
    }

    /// <summary>Moves dead messages (all, or those named) back to ready, with a fresh delivery count.</summary>
    public async Task<int> RedriveAsync(TenantInfo tenant, IReadOnlyList<Guid>? messageIds, CancellationToken cancellationToken)
    {
        var database = connections.For(tenant);
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        int redriven;
        await using (var command = new NpgsqlCommand(
            $"""
            UPDATE {database.Table(Messages)} SET status = 'ready', visible_at = now(), delivery_count = 0, lease_id = NULL,
                dead_reason = NULL, finished_at = NULL,
                history = history || jsonb_build_array(jsonb_build_object('event', 'redriven', 'deadReason', dead_reason, 'at', now()))
            WHERE status = 'dead' AND ($1::uuid[] IS NULL OR id = ANY($1))
            """, connection, transaction))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)messageIds?.ToArray() ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Uuid });
            redriven = await command.ExecuteNonQueryAsync(cancellationToken);
        }

        if (redriven > 0)
        {
            await QueueSignals.NotifyAsync(connection, transaction, tenant.Id, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        activity?.Redriven(tenant.Id, redriven);
        return redriven;
    }

    /// <summary>
    /// The tenant's queue counted exactly, for its health row: ready, leased and dead messages, since when the oldest
    /// visible one waits (its visible_at), and the time of the count. Reads the deliverable and dead-letter indexes,
    /// never acked messages.
    /// </summary>
    public async Task<QueueCount> CountAsync(string store, SchemaName schema, CancellationToken cancellationToken)
    {
        var database = connections.For(store, schema);
        var table = database.Table(Messages);
        await using var count = database.CreateCommand(
            $"""
            SELECT count(*) FILTER (WHERE status = 'ready'), count(*) FILTER (WHERE status = 'leased'),
                   min(visible_at) FILTER (WHERE status = 'ready' OR visible_at <= now()),
                   (SELECT count(*) FROM {table} WHERE status = 'dead'), now()
            FROM {table} WHERE status IN ('ready', 'leased')
            """);
        await using var reader = await count.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new QueueCount(
            reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(3),
            reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2), reader.GetFieldValue<DateTimeOffset>(4));
    }

    public async Task<QueueDepth> DepthAsync(string store, SchemaName schema, CancellationToken cancellationToken)
    {
        var database = connections.For(store, schema);
        await using var command = database.CreateCommand($"SELECT status, count(*) FROM {database.Table(Messages)} GROUP BY status");
        long ready = 0, leased = 0, acked = 0, dead = 0;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var count = reader.GetInt64(1);
            switch (reader.GetString(0))
            {
                case "ready": ready = count; break;
                case "leased": leased = count; break;
                case "acked": acked = count; break;
                case "dead": dead = count; break;
            }
        }

        return new QueueDepth(ready, leased, acked, dead);
    }

    /// <summary>
    /// Deletes the acked messages finished before the retention, in batches. Returns how many went and when the oldest
    /// acked message left finished (null: none is left), which is when the tenant has something to purge again.
    /// </summary>
    public async Task<(long Purged, DateTimeOffset? OldestAcked)> PurgeAckedAsync(string store, SchemaName schema, TimeSpan retention, CancellationToken cancellationToken)
    {
        const int batchSize = 5000;
        var database = connections.For(store, schema);
        var table = database.Table(Messages);
        long total = 0;
        while (true)
        {
            // Only the last batch looks up the oldest acked message left (a scan: acked messages have no index).
            await using var command = database.CreateCommand(
                $"""
                WITH purged AS (
                    DELETE FROM {table} WHERE id IN (
                        SELECT id FROM {table}
                        WHERE status = 'acked' AND finished_at < now() - make_interval(secs => $1)
                        LIMIT {batchSize})
                    RETURNING 1
                ), counted AS (
                    SELECT count(*) AS deleted FROM purged
                )
                SELECT deleted, CASE WHEN deleted < {batchSize} THEN (
                    SELECT min(finished_at) FROM {table} WHERE status = 'acked' AND finished_at >= now() - make_interval(secs => $1)) END
                FROM counted
                """);
            command.Parameters.Add(new NpgsqlParameter { Value = retention.TotalSeconds });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            var deleted = reader.GetInt64(0);
            total += deleted;
            if (deleted < batchSize)
            {
                return (total, reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1));
            }
        }
    }

    private static string PriorityName(short priority) => Envelope.PriorityName((MessagePriority)priority);

    private static (List<Receipt> Parsed, List<string> Rejected) Parse(IReadOnlyList<string> receipts)
    {
        var parsed = new List<Receipt>(receipts.Count);
        var rejected = new List<string>();
        foreach (var text in receipts)
        {
            if (Receipt.TryParse(text, out var receipt))
            {
                parsed.Add(receipt);
            }
            else
            {
                rejected.Add(text);
            }
        }

        return (parsed, rejected);
    }
}
