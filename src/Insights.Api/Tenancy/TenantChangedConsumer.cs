namespace Insights.Tenancy;

/// <summary>Runs on every node, on an endpoint of its own, so each node's tenant cache hears of every change.</summary>
public sealed class TenantChangedConsumer(TenantDirectory directory) : MassTransit.IConsumer<TenantChanged>
{
    public Task Consume(MassTransit.ConsumeContext<TenantChanged> context)
    {
        directory.Evict(context.Message.TenantId);
        return Task.CompletedTask;
    }
}
