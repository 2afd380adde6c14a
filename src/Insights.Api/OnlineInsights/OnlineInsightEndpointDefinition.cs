using MassTransit;

namespace Insights.OnlineInsights;

/// <summary>
/// A request endpoint: a bounded number of requests in flight per worker and, on RabbitMQ, a queue that is not written
/// to disk. A request lost with a broker restart times out like any other request nobody answered, and the caller
/// asks again.
/// </summary>
public abstract class OnlineInsightEndpointDefinition<TConsumer> : ConsumerDefinition<TConsumer>
    where TConsumer : class, IConsumer
{
    private readonly int prefetchCount;

    protected OnlineInsightEndpointDefinition(OnlineInsightsOptions options, int concurrentMessageLimit)
    {
        prefetchCount = Math.Max(options.PrefetchCount, concurrentMessageLimit);
        ConcurrentMessageLimit = concurrentMessageLimit;
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<TConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.PrefetchCount = prefetchCount;
        // The caller learns of a failure from the fault sent to it; keeping the request in an error queue helps nobody.
        endpointConfigurator.DiscardFaultedMessages();
        if (endpointConfigurator is IRabbitMqReceiveEndpointConfigurator rabbit)
        {
            // Not auto-deleted: a worker that restarts within the deadline still answers the requests sent meanwhile.
            rabbit.Durable = false;
        }
    }
}
