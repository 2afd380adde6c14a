using Insights.SmartLink;
using Insights.Tenancy;
using MassTransit;

namespace Insights.Ingestion;

/// <summary>
/// A newly provisioned tenant gets its first run at once. The run's id derives from the event's, so a redelivered event
/// finds the run it queued the first time.
/// </summary>
public sealed class FirstIngestionConsumer(IngestionTrigger trigger) : IConsumer<TenantProvisioned>
{
    public const string Trigger = "provisioned";

    public Task Consume(ConsumeContext<TenantProvisioned> context) =>
        trigger.RequestAsync(
            context.Message.TenantId, Trigger, context.CancellationToken,
            context.MessageId is { } id ? MessageIds.DerivedFrom(id, "first-ingestion") : null);
}
