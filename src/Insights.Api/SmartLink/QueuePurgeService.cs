using Insights.Tenancy;

namespace Insights.SmartLink;

/// <summary>
/// Deletes acked messages older than <see cref="SmartLinkOptions.AckedRetention"/>; dead ones stay until redriven. It
/// visits only the tenants with a due marker in <c>catalog.queue_ack_days</c> (written by the first ack of a tenant
/// each day on each node), so a purge costs what was acked, not the number of tenants: idle tenants are never visited.
/// </summary>
/// <remarks>
/// After a visit, the tenant's markers are due again when its oldest acked message left is past the retention (or, with
/// none left, after a whole retention, for acks still to come on those days), and the markers of days whose every
/// message is past the retention go. Marker days are the acking node's UTC date and messages age on the database's
/// clock: a marker is kept a day longer than its messages need, so clocks that differ by less than a day lose nothing.
/// </remarks>
public sealed class QueuePurgeService(
    CatalogDatabase dataSource, TenantQueues store, QueueAckMarks marks, IOptions<SmartLinkOptions> options, ILogger<QueuePurgeService> logger)
    : BackgroundService
{
    /// <summary>One purge at a time across all nodes.</summary>
    private const long LockKey = 0x696E73_70757267L;

    private const int TenantsPerPage = 500;

    /// <summary>When the acks of a day are first due: the start of the day (UTC) plus the retention.</summary>
    public static DateTimeOffset DueAt(DateOnly day, TimeSpan retention) =>
        new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero) + retention;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await PurgeOnceAsync(stoppingToken);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException && !stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(e, "Purge of acked messages failed; retrying at the next interval");
            }

            await Task.Delay(options.Value.PurgeInterval, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    public async Task PurgeOnceAsync(CancellationToken cancellationToken)
    {
        await using var lockConnection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using (var take = new NpgsqlCommand("SELECT pg_try_advisory_lock($1)", lockConnection))
        {
            take.Parameters.Add(new NpgsqlParameter { Value = LockKey });
            if (!(bool)(await take.ExecuteScalarAsync(cancellationToken))!)
            {
                return;
            }
        }

        try
        {
            var retention = options.Value.AckedRetention;
            // A marker of day D stands for messages that finished before D + 1 day (+ the skew); they are all past the
            // retention once D + 2 days <= now - retention: markers before the day after that go with the visit.
            var keepFrom = DateOnly.FromDateTime((marks.UtcNow - retention).UtcDateTime).AddDays(-1);
            string? after = null;
            while (true)
            {
                var page = await DueTenantsAsync(lockConnection, after, cancellationToken);
                foreach (var tenant in page)
                {
                    await VisitAsync(lockConnection, tenant, retention, keepFrom, cancellationToken);
                }

                if (page.Count < TenantsPerPage)
                {
                    return;
                }

                after = page[^1].Id;
            }
        }
        finally
        {
            await using var release = new NpgsqlCommand("SELECT pg_advisory_unlock($1)", lockConnection);
            release.Parameters.Add(new NpgsqlParameter { Value = LockKey });
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    private sealed record DueTenant(string Id, SchemaName? Schema, string? Status, string? Store);

    /// <summary>
    /// The next page of tenants with a due marker, after <paramref name="after"/>, with what the catalog knows of them.
    /// </summary>
    private static async Task<List<DueTenant>> DueTenantsAsync(NpgsqlConnection connection, string? after, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            $"""
            SELECT d.tenant_id, t.schema_name, t.status, t.store
            FROM (SELECT DISTINCT tenant_id FROM catalog.queue_ack_days
                  WHERE due_at <= now() AND ($1::text IS NULL OR tenant_id > $1)
                  ORDER BY tenant_id LIMIT $2) AS d
            LEFT JOIN {TenantRows.Tenants} t ON t.id = d.tenant_id
            ORDER BY d.tenant_id
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)after ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = TenantsPerPage });
        var page = new List<DueTenant>(TenantsPerPage);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            page.Add(new DueTenant(
                reader.GetString(0), reader.IsDBNull(1) ? null : SchemaName.Parse(reader.GetString(1)), reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3)));
        }

        return page;
    }

    private async Task VisitAsync(NpgsqlConnection catalog, DueTenant tenant, TimeSpan retention, DateOnly keepFrom, CancellationToken cancellationToken)
    {
        if (tenant.Schema is not { } schema)
        {
            // The tenant is gone (its deletion removes its markers; these came from an ack that was still running).
            await using var forget = new NpgsqlCommand("DELETE FROM catalog.queue_ack_days WHERE tenant_id = $1", catalog);
            forget.Parameters.Add(new NpgsqlParameter { Value = tenant.Id });
            await forget.ExecuteNonQueryAsync(cancellationToken);
            return;
        }

        if (tenant.Status is not ("active" or "suspended"))
        {
            // Being deleted (or not there yet): looked at again after a retention.
            await using var later = new NpgsqlCommand(
                "UPDATE catalog.queue_ack_days SET due_at = now() + make_interval(secs => $2) WHERE tenant_id = $1", catalog);
            later.Parameters.Add(new NpgsqlParameter { Value = tenant.Id });
            later.Parameters.Add(new NpgsqlParameter { Value = retention.TotalSeconds });
            await later.ExecuteNonQueryAsync(cancellationToken);
            return;
        }

        long purged;
        DateTimeOffset? oldest;
        try
        {
            (purged, oldest) = await store.PurgeAckedAsync(tenant.Store!, schema, retention, cancellationToken);
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.InvalidSchemaName)
        {
            // The tenant has not received the queue migration yet, or its schema was dropped meanwhile.
            (purged, oldest) = (0, null);
        }
        catch (PostgresException e)
        {
            logger.LogWarning(e, "Purge of the acked messages of tenant {TenantId} failed; it is tried again at the next interval", tenant.Id);
            return;
        }

        if (purged > 0)
        {
            logger.LogInformation("Purged {Count} acked messages of tenant {TenantId}", purged, tenant.Id);
        }

        // Catalog only. The markers of days wholly past the retention go; the others are due when the oldest acked
        // message left is. Acked messages left without a marker (acked by a node that did not mark them) get one.
        await using var reschedule = new NpgsqlCommand(
            """
            WITH gone AS (
                DELETE FROM catalog.queue_ack_days WHERE tenant_id = $1 AND day < $2
            ), kept AS (
                UPDATE catalog.queue_ack_days SET due_at = coalesce($3, now()) + make_interval(secs => $4)
                WHERE tenant_id = $1 AND day >= $2
                RETURNING 1
            )
            INSERT INTO catalog.queue_ack_days (tenant_id, day, due_at)
            SELECT $1, $2, $3 + make_interval(secs => $4) WHERE $3 IS NOT NULL AND NOT EXISTS (SELECT FROM kept)
            ON CONFLICT (tenant_id, day) DO UPDATE SET due_at = EXCLUDED.due_at
            """, catalog);
        reschedule.Parameters.Add(new NpgsqlParameter { Value = tenant.Id });
        reschedule.Parameters.Add(new NpgsqlParameter { Value = keepFrom });
        reschedule.Parameters.Add(new NpgsqlParameter { Value = (object?)oldest ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        reschedule.Parameters.Add(new NpgsqlParameter { Value = retention.TotalSeconds });
        await reschedule.ExecuteNonQueryAsync(cancellationToken);
    }
}
