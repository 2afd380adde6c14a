using Insights.Database;
using Insights.Ingestion;
using Insights.SmartLink;
using Npgsql;

namespace Insights.Tenancy;

/// <summary>What one tenant uses. Queue depth and ingestion totals join as those capabilities land.</summary>
public sealed record TenantUsage(string TenantId, string Status, long SchemaBytes, IReadOnlyList<TableUsage> Tables, QueueDepth? Queue, IngestionTotals Ingestion, DateTimeOffset MeasuredAt);

public sealed class TenantUsageReader(CatalogDatabase dataSource, TenantDatabases connections, QueueStore queue, IngestionRuns runs)
{
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
        var usage = await connections.For(store, schema).TablesAsync(cancellationToken);
        // A schema that is not there (a failed provisioning) has no tables, and no queue.
        var depth = usage.Count > 0 ? await queue.DepthAsync(store, schema, cancellationToken) : null;

        return new TenantUsage(tenantId, status, usage.Sum(t => t.Bytes), usage, depth, await runs.TotalsAsync(tenantId, cancellationToken), DateTimeOffset.UtcNow);
    }
}
