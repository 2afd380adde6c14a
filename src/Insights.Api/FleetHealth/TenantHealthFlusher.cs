using Insights.Tenancy;

namespace Insights.FleetHealth;

/// <summary>
/// Writes what this node's queue work did to each tenant (<see cref="TenantActivity"/>) to <c>catalog.tenant_health</c>
/// every <see cref="FleetHealthOptions.FlushInterval"/> and at stop: one statement, none when idle. Nodes combine in
/// any order: counts are added, times kept with GREATEST, the oldest visible time by the rules below.
/// </summary>
/// <remarks>
/// <para><c>oldest_visible_at</c> is since when the oldest message known to be visible has waited: its enqueue, requeue
/// or redrive (a delayed requeue's time is ahead). A flush keeps the earliest such time after <c>drained_at</c> (a
/// receive or look last found nothing visible); a full batch leased moves it to the newest leased message's enqueue.
/// Exact to a flush interval when a client drains its queue, a lower bound while it works through a backlog. A lease
/// running out (counted again by the receive that picks it up) and a second delayed requeue go unseen until the
/// reconciliation counts the tenant (<see cref="FleetHealthOptions.ReconcileAfter"/>).</para>
/// <para>A receive that changed nothing writes its time only when a minute later than the one kept (or it drained what
/// was kept as visible): an idle client costs a row a minute, not one per poll
/// (docs/decisions/0017-fleet-health-kept-as-work-happens.md).</para>
/// </remarks>
public sealed class TenantHealthFlusher(
    CatalogDatabase dataSource, TenantActivity activity, IOptions<FleetHealthOptions> options, ILogger<TenantHealthFlusher> logger) : BackgroundService
{
    private const string Sql =
        $"""
        WITH n AS (
            SELECT n.*,
                   CASE WHEN n.visible_min > coalesce(n.drained_at, '-infinity') THEN n.visible_min
                        WHEN n.visible_max > coalesce(n.drained_at, '-infinity') THEN n.visible_max END AS visible_at
            FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::timestamptz[], $6::timestamptz[], $7::timestamptz[],
                        $8::timestamptz[], $9::timestamptz[], $10::timestamptz[], $11::bigint[], $12::timestamptz[])
                AS n(tenant_id, ready, leased, dead, visible_min, visible_max, drained_at, cleared_through, last_receive_at, last_ack_at,
                     failures, last_at)
            WHERE EXISTS (SELECT FROM {TenantRows.Tenants} t WHERE t.id = n.tenant_id)
        ), buckets AS (
            INSERT INTO catalog.tenant_processing_failures AS f (tenant_id, hour, failures)
            SELECT b.tenant_id, b.hour, b.failures FROM unnest($13::text[], $14::timestamptz[], $15::bigint[]) AS b(tenant_id, hour, failures)
            WHERE EXISTS (SELECT FROM n WHERE n.tenant_id = b.tenant_id)
            ON CONFLICT (tenant_id, hour) DO UPDATE SET failures = f.failures + EXCLUDED.failures
        ), added AS (
            -- A tenant provisioned before this table has its row from the migration, a new one from its provisioning: this
            -- is only the fallback.
            INSERT INTO catalog.tenant_health (tenant_id, ready, leased, dead, oldest_visible_at, drained_at, last_receive_at, last_ack_at, failures_day)
            SELECT tenant_id, ready, leased, dead, CASE WHEN visible_at < cleared_through THEN cleared_through ELSE visible_at END,
                   drained_at, last_receive_at, last_ack_at, failures
            FROM n WHERE NOT EXISTS (SELECT FROM catalog.tenant_health h WHERE h.tenant_id = n.tenant_id)
            ON CONFLICT (tenant_id) DO NOTHING
        )
        UPDATE catalog.tenant_health AS h SET
            -- Deltas of work that the last reconciliation counted already (all of it done before that count) are dropped.
            ready = h.ready + CASE WHEN h.rebased_at IS NULL OR n.last_at >= h.rebased_at THEN n.ready ELSE 0 END,
            leased = h.leased + CASE WHEN h.rebased_at IS NULL OR n.last_at >= h.rebased_at THEN n.leased ELSE 0 END,
            dead = h.dead + CASE WHEN h.rebased_at IS NULL OR n.last_at >= h.rebased_at THEN n.dead ELSE 0 END,
            oldest_visible_at = (
                SELECT CASE WHEN kept.v < n.cleared_through THEN n.cleared_through ELSE kept.v END
                FROM (SELECT LEAST(
                    CASE WHEN h.oldest_visible_at > coalesce(GREATEST(h.drained_at, n.drained_at), '-infinity') THEN h.oldest_visible_at END,
                    CASE WHEN n.visible_at > coalesce(GREATEST(h.drained_at, n.drained_at), '-infinity') THEN n.visible_at END) AS v) AS kept),
            drained_at = GREATEST(h.drained_at, n.drained_at),
            last_receive_at = GREATEST(h.last_receive_at, n.last_receive_at),
            last_ack_at = GREATEST(h.last_ack_at, n.last_ack_at),
            failures_day = h.failures_day + n.failures,
            touched_at = CASE WHEN n.ready <> 0 OR n.leased <> 0 OR n.dead <> 0 OR n.visible_min IS NOT NULL THEN now() ELSE h.touched_at END
        FROM n
        WHERE h.tenant_id = n.tenant_id
          AND (n.ready <> 0 OR n.leased <> 0 OR n.dead <> 0 OR n.failures <> 0 OR n.visible_min IS NOT NULL OR n.cleared_through IS NOT NULL
               OR n.last_ack_at > coalesce(h.last_ack_at, '-infinity')
               OR n.last_receive_at >= coalesce(h.last_receive_at, '-infinity') + interval '1 minute'
               OR h.oldest_visible_at <= n.drained_at)
        """;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(options.Value.FlushInterval, stoppingToken);
                await FlushAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);

        // What the node did since its last flush goes with its stop.
        await FlushAsync(cancellationToken);
    }

    /// <summary>Writes what was recorded (kept for the next flush on failure); returns the tenants written.</summary>
    public async Task<int> FlushAsync(CancellationToken cancellationToken)
    {
        var taken = activity.Take();
        if (taken.Count == 0)
        {
            return 0;
        }

        try
        {
            await WriteAsync(taken, cancellationToken);
            return taken.Count;
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or TimeoutException or InvalidOperationException)
        {
            activity.Restore(taken);
            logger.LogWarning(e, "Writing the health of {Tenants} tenants failed; it goes with the next flush", taken.Count);
            return 0;
        }
    }

    private async Task WriteAsync(List<TenantActivity.Snapshot> taken, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(Sql);
        Add(command, NpgsqlDbType.Text, taken.Select(s => s.TenantId).ToArray());
        Add(command, NpgsqlDbType.Bigint, taken.Select(s => s.Ready).ToArray());
        Add(command, NpgsqlDbType.Bigint, taken.Select(s => s.Leased).ToArray());
        Add(command, NpgsqlDbType.Bigint, taken.Select(s => s.Dead).ToArray());
        Add(command, NpgsqlDbType.TimestampTz, taken.Select(s => s.VisibleMin).ToArray());
        Add(command, NpgsqlDbType.TimestampTz, taken.Select(s => s.VisibleMax).ToArray());
        Add(command, NpgsqlDbType.TimestampTz, taken.Select(s => s.DrainedAt).ToArray());
        Add(command, NpgsqlDbType.TimestampTz, taken.Select(s => s.ClearedThrough).ToArray());
        Add(command, NpgsqlDbType.TimestampTz, taken.Select(s => s.LastReceiveAt).ToArray());
        Add(command, NpgsqlDbType.TimestampTz, taken.Select(s => s.LastAckAt).ToArray());
        Add(command, NpgsqlDbType.Bigint, taken.Select(s => s.Failures.Values.Sum()).ToArray());
        Add(command, NpgsqlDbType.TimestampTz, taken.Select(s => s.LastAt).ToArray());
        var buckets = taken.SelectMany(s => s.Failures.Select(f => (s.TenantId, Hour: f.Key, Count: f.Value))).ToList();
        Add(command, NpgsqlDbType.Text, buckets.Select(b => b.TenantId).ToArray());
        Add(command, NpgsqlDbType.TimestampTz, buckets.Select(b => b.Hour).ToArray());
        Add(command, NpgsqlDbType.Bigint, buckets.Select(b => b.Count).ToArray());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void Add(NpgsqlCommand command, NpgsqlDbType type, object values) =>
        command.Parameters.Add(new NpgsqlParameter { Value = values, NpgsqlDbType = NpgsqlDbType.Array | type });
}
