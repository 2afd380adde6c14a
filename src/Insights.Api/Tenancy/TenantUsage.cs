using Insights.Database;
using Insights.Ingestion;
using Insights.SmartLink;
using Npgsql;

namespace Insights.Tenancy;

public sealed record TableUsage(string Name, long Rows, bool RowsEstimated, long Bytes);

/// <summary>What one tenant uses. Queue depth and ingestion totals join as those capabilities land.</summary>
public sealed record TenantUsage(string TenantId, string Status, long SchemaBytes, IReadOnlyList<TableUsage> Tables, QueueDepth? Queue, IngestionTotals Ingestion, DateTimeOffset MeasuredAt);

public sealed class TenantUsageReader(NpgsqlDataSource dataSource, TenantConnections connections, QueueStore queue, IngestionRuns runs)
{
    /// <summary>Tables with at most this many estimated rows are counted exactly.</summary>
    private const long ExactCountBelow = 100_000;

    public async Task<TenantUsage?> ReadAsync(string tenantId, CancellationToken cancellationToken)
    {
        string? schemaName;
        string? status;
        string store;
        await using (var find = dataSource.CreateCommand("SELECT schema_name, status, store FROM catalog.tenants WHERE id = $1"))
        {
            find.Parameters.Add(new NpgsqlParameter { Value = tenantId });
            await using var reader = await find.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            schemaName = reader.GetString(0);
            status = reader.GetString(1);
            store = reader.GetString(2);
        }

        var schema = SchemaName.Parse(schemaName);
        await using var connection = await connections.For(store, schema).OpenConnectionAsync(cancellationToken);
        var tables = new List<(string Name, long Estimate, long Bytes)>();
        await using (var sizes = new NpgsqlCommand(
            """
            SELECT c.relname, c.reltuples::bigint, pg_total_relation_size(c.oid)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
            ORDER BY c.relname
            """, connection))
        {
            sizes.Parameters.Add(new NpgsqlParameter { Value = schema.Value });
            await using var reader = await sizes.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                tables.Add((reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
            }
        }

        var usage = new List<TableUsage>(tables.Count);
        foreach (var (name, reltuples, bytes) in tables)
        {
            var estimate = reltuples;
            // reltuples is -1 until the table is first analyzed; small tables are counted exactly either way.
            if (estimate < ExactCountBelow)
            {
                await using var count = new NpgsqlCommand(
                    $"SELECT count(*) FROM (SELECT 1 FROM {schema.Quoted}.{QuoteTable(name)} LIMIT {ExactCountBelow + 1}) AS limited", connection);
                var exact = (long)(await count.ExecuteScalarAsync(cancellationToken))!;
                if (exact <= ExactCountBelow)
                {
                    usage.Add(new TableUsage(name, exact, false, bytes));
                    continue;
                }

                estimate = Math.Max(estimate, exact);
            }

            usage.Add(new TableUsage(name, estimate, true, bytes));
        }

        QueueDepth? depth = null;
        if (tables.Any(t => t.Name == "queue_messages"))
        {
            depth = await queue.DepthAsync(store, schema, cancellationToken);
        }

        return new TenantUsage(tenantId, status, usage.Sum(t => t.Bytes), usage, depth, await runs.TotalsAsync(tenantId, cancellationToken), DateTimeOffset.UtcNow);
    }

    /// <summary>Table names come from pg_class of the tenant's own schema; quoted all the same.</summary>
    private static string QuoteTable(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
