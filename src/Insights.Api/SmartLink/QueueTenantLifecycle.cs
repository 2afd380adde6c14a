using Insights.Tenancy;
using Npgsql;

namespace Insights.SmartLink;

/// <summary>A deleted tenant leaves no purge marker behind.</summary>
internal sealed class QueueTenantLifecycle : ITenantLifecycle
{
    public void Forgetting(NpgsqlBatch catalog, string tenantId) =>
        catalog.BatchCommands.Add(new NpgsqlBatchCommand("DELETE FROM catalog.queue_ack_days WHERE tenant_id = $1")
        {
            Parameters = { new() { Value = tenantId } },
        });
}
