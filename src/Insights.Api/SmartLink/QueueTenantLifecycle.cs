using Insights.Tenancy;

namespace Insights.SmartLink;

/// <summary>The queue moves with its tenant; a deleted tenant leaves no purge marker behind.</summary>
internal sealed class QueueTenantLifecycle : ITenantLifecycle
{
    /// <summary>Copied while the tenant's writes are held; its order (<c>seq</c>) continues after the copy.</summary>
    public IEnumerable<TenantTable> Tables { get; } = [new(TenantQueues.Messages, CopiedAtSwitch: true, SerialColumn: "seq")];

    public void Forgetting(NpgsqlBatch catalog, string tenantId) =>
        catalog.BatchCommands.Add(new NpgsqlBatchCommand("DELETE FROM catalog.queue_ack_days WHERE tenant_id = $1")
        {
            Parameters = { new() { Value = tenantId } },
        });
}
