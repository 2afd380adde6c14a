using MassTransit;
using Microsoft.Extensions.Options;

namespace Insights.OnlineInsights;

/// <summary>Answers <see cref="GetOnlineInsight"/> requests of the api nodes (worker role).</summary>
public sealed class GetOnlineInsightConsumer(OnlineInsightAnswerer answerer) : IConsumer<GetOnlineInsight>
{
    public async Task Consume(ConsumeContext<GetOnlineInsight> context)
    {
        var answer = await answerer.AnswerAsync(context.Message, context.CancellationToken);

        // One reply type, whatever the outcome: the caller waits on one response handler, not one per outcome. Answers
        // are only worth something to a caller still waiting: the broker never writes them to disk, and the worker
        // does not wait for the broker to confirm them (a lost answer is a request that times out).
        await context.RespondAsync(answer, x =>
        {
            x.Durable = false;
            x.TrySetAwaitAck(false);
        });
    }
}

/// <summary>
/// The request endpoint: a bounded number of requests in flight per worker (each holds a database connection), and,
/// on RabbitMQ, a queue that is not written to disk. A request lost with a broker restart times out like any other
/// request nobody answered, and the caller asks again.
/// </summary>
public sealed class GetOnlineInsightConsumerDefinition : ConsumerDefinition<GetOnlineInsightConsumer>
{
    private readonly OnlineInsightsOptions options;

    public GetOnlineInsightConsumerDefinition(IOptions<OnlineInsightsOptions> options)
    {
        this.options = options.Value;
        ConcurrentMessageLimit = this.options.ConcurrentMessageLimit;
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<GetOnlineInsightConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.PrefetchCount = options.PrefetchCount;
        // The caller learns of a failure from the fault sent to it; keeping the request in an error queue helps nobody.
        endpointConfigurator.DiscardFaultedMessages();
        if (endpointConfigurator is IRabbitMqReceiveEndpointConfigurator rabbit)
        {
            // Not auto-deleted: a worker that restarts within the deadline still answers the requests sent meanwhile.
            rabbit.Durable = false;
        }
    }
}
