using Insights.SmartLink;
using Insights.Tenancy;

namespace Insights.FleetHealth;

/// <summary>
/// Repairs what deltas miss (a node that crashed before its flush; the estimated oldest visible time). On the
/// scheduler, every <see cref="FleetHealthOptions.ReconcileInterval"/>, it counts the queues of tenants whose counts
/// changed and then stood still for <see cref="FleetHealthOptions.ReconcileAfter"/>, at most
/// <see cref="FleetHealthOptions.ReconcileBatch"/> a pass, each on its lane; an idle tenant is never visited again. The
/// same pass deletes processing-failure buckets older than a day, subtracting them from the counts.
/// </summary>
public sealed class TenantHealthReconciler(
    CatalogDatabase dataSource, TenantQueues queue, IOptions<FleetHealthOptions> options, ILogger<TenantHealthReconciler> logger)
    : BackgroundService
{
    /// <summary>Failures reported before the start of the hour a day ago are out of the view's day.</summary>
    internal const string TrimSql =
        """
        WITH expired AS (
            DELETE FROM catalog.tenant_processing_failures WHERE hour < date_trunc('hour', now() - interval '1 day')
            RETURNING tenant_id, failures
        ), summed AS (
            SELECT tenant_id, sum(failures) AS failures FROM expired GROUP BY tenant_id
        )
        UPDATE catalog.tenant_health h SET failures_day = h.failures_day - s.failures FROM summed s WHERE h.tenant_id = s.tenant_id
        """;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await PassAsync(stoppingToken);
                }
                catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException && !stoppingToken.IsCancellationRequested)
                {
                    logger.LogWarning(e, "Reconciling tenant health failed; the next pass tries again");
                }

                await Task.Delay(options.Value.ReconcileInterval, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One pass: trims expired failures and counts the tenants due; returns how many it counted.</summary>
    public async Task<int> PassAsync(CancellationToken cancellationToken)
    {
        await using (var trim = dataSource.CreateCommand(TrimSql))
        {
            await trim.ExecuteNonQueryAsync(cancellationToken);
        }

        var due = new List<(string Id, string Store, SchemaName Schema)>();
        await using (var select = dataSource.CreateCommand(
            $"""
            SELECT h.tenant_id, t.store, t.schema_name
            FROM catalog.tenant_health h JOIN {TenantRows.Tenants} t ON t.id = h.tenant_id
            WHERE (h.rebased_at IS NULL OR h.touched_at > h.rebased_at) AND h.touched_at < now() - $1
              AND t.status IN ('active', 'suspended')
            ORDER BY h.touched_at LIMIT $2
            """))
        {
            select.Parameters.Add(new NpgsqlParameter { Value = options.Value.ReconcileAfter });
            select.Parameters.Add(new NpgsqlParameter { Value = options.Value.ReconcileBatch });
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                due.Add((reader.GetString(0), reader.GetString(1), SchemaName.Parse(reader.GetString(2))));
            }
        }

        foreach (var (tenantId, store, schema) in due)
        {
            await ReconcileAsync(tenantId, store, schema, cancellationToken);
        }

        return due.Count;
    }

    /// <summary>Counts one tenant's queue exactly and writes it, with the time of the count.</summary>
    public async Task ReconcileAsync(string tenantId, string store, SchemaName schema, CancellationToken cancellationToken)
    {
        var (ready, leased, dead, oldestVisible, countedAt) = await queue.CountAsync(store, schema, cancellationToken);
        await using var write = dataSource.CreateCommand(
            """
            UPDATE catalog.tenant_health SET ready = $2, leased = $3, dead = $4, oldest_visible_at = $5, rebased_at = $6
            WHERE tenant_id = $1
            """);
        write.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        write.Parameters.Add(new NpgsqlParameter { Value = ready });
        write.Parameters.Add(new NpgsqlParameter { Value = leased });
        write.Parameters.Add(new NpgsqlParameter { Value = dead });
        write.Parameters.Add(new NpgsqlParameter { Value = (object?)oldestVisible ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        write.Parameters.Add(new NpgsqlParameter { Value = countedAt });
        await write.ExecuteNonQueryAsync(cancellationToken);
    }
}
