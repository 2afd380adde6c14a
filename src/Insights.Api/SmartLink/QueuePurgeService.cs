using Insights.Tenancy;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Insights.SmartLink;

/// <summary>Deletes acked messages older than <see cref="SmartLinkOptions.AckedRetention"/>; dead ones stay until redriven.</summary>
public sealed class QueuePurgeService(
    NpgsqlDataSource dataSource, QueueStore store, IOptions<SmartLinkOptions> options, ILogger<QueuePurgeService> logger) : BackgroundService
{
    /// <summary>One purge at a time across all nodes.</summary>
    private const long LockKey = 0x696E73_70757267L;

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
            var schemas = new List<(string Id, SchemaName Schema)>();
            await using (var list = new NpgsqlCommand("SELECT id, schema_name FROM catalog.tenants WHERE status IN ('active', 'suspended')", lockConnection))
            await using (var reader = await list.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    schemas.Add((reader.GetString(0), SchemaName.Parse(reader.GetString(1))));
                }
            }

            foreach (var (id, schema) in schemas)
            {
                try
                {
                    var purged = await store.PurgeAckedAsync(schema, options.Value.AckedRetention, cancellationToken);
                    if (purged > 0)
                    {
                        logger.LogInformation("Purged {Count} acked messages of tenant {TenantId}", purged, id);
                    }
                }
                catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
                {
                    // The tenant has not received the queue migration yet.
                }
            }
        }
        finally
        {
            await using var release = new NpgsqlCommand("SELECT pg_advisory_unlock($1)", lockConnection);
            release.Parameters.Add(new NpgsqlParameter { Value = LockKey });
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }
}
