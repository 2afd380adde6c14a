using Insights.Tenancy;

namespace Insights.FleetHealth;

/// <summary>Lists a tenant in the fleet health view from its provisioning, its empty queue counted exactly.</summary>
internal sealed class FleetHealthTenantLifecycle : ITenantLifecycle
{
    public void Activating(NpgsqlBatch catalog, string tenantId) =>
        catalog.BatchCommands.Add(new NpgsqlBatchCommand(
            "INSERT INTO catalog.tenant_health (tenant_id, rebased_at) VALUES ($1, now()) ON CONFLICT (tenant_id) DO NOTHING")
        {
            Parameters = { new() { Value = tenantId } },
        });
}
