using Insights.Ingestion;
using Insights.SmartLink;
using Insights.Tenancy;

namespace Insights.FleetHealth;

public sealed class TenantUsageReader(TenantDirectory directory, TenantDatabases connections, TenantQueues queue, IngestionRuns runs)
{
    public async Task<TenantUsage?> ReadAsync(string tenantId, CancellationToken cancellationToken)
    {
        if (await directory.FindAsync(tenantId, cancellationToken) is not { } tenant)
        {
            return null;
        }

        var (status, store, schema) = (tenant.Status, tenant.Store, tenant.Schema);
        var usage = await connections.For(store, schema).TablesAsync(cancellationToken);
        // A schema that is not there (a failed provisioning) has no tables, and no queue.
        var depth = usage.Count > 0 ? await queue.DepthAsync(store, schema, cancellationToken) : null;

        return new TenantUsage(tenantId, status, usage.Sum(t => t.Bytes), usage, depth, await runs.TotalsAsync(tenantId, cancellationToken), DateTimeOffset.UtcNow);
    }
}
