using MassTransit;
using MassTransit.Serialization;
using Microsoft.Extensions.Options;

namespace Insights.OnlineInsights;

/// <summary>Answers <see cref="GetOnlineInsight"/> requests of the api nodes from the store (worker role).</summary>
public sealed class GetOnlineInsightConsumer(OnlineInsightAnswerer answerer) : IConsumer<GetOnlineInsight>
{
    public async Task Consume(ConsumeContext<GetOnlineInsight> context) =>
        await OnlineInsightMessages.RespondAsync(context, await answerer.AnswerAsync(context.Message, context.CancellationToken));
}

/// <summary>Answers <see cref="GetLiveOnlineInsight"/> requests of the api nodes from the live source (worker role).</summary>
public sealed class GetLiveOnlineInsightConsumer(OnlineInsightAnswerer answerer) : IConsumer<GetLiveOnlineInsight>
{
    public async Task Consume(ConsumeContext<GetLiveOnlineInsight> context) =>
        await OnlineInsightMessages.RespondAsync(context, await answerer.AnswerAsync(context.Message.Request, context.CancellationToken));
}

/// <summary>How the online request/reply messages travel.</summary>
internal static class OnlineInsightMessages
{
    /// <summary>
    /// One reply type, whatever the outcome: the caller waits on one response handler, not one per outcome. Answers are
    /// only worth something to a caller still waiting, so they travel <see cref="Transient"/>.
    /// </summary>
    public static Task RespondAsync(ConsumeContext context, OnlineInsightAnswer answer) => context.RespondAsync<OnlineInsightAnswer>(answer, Transient);

    /// <summary>
    /// Requests and replies live no longer than the caller waits: the broker never writes them to disk, and the sender
    /// does not wait for the broker to confirm them (one lost on the way is a request that times out). They travel as
    /// raw JSON, the headers as transport headers: MassTransit's envelope took a tenth of each node's processor time on
    /// this path.
    /// </summary>
    public static void Transient(SendContext context)
    {
        context.Durable = false;
        context.TrySetAwaitAck(false);
        context.Serializer = context.Serialization.GetMessageSerializer(SystemTextJsonRawMessageSerializer.JsonContentType);
    }
}

/// <summary>
/// The endpoint of stored lookups. Each is a short database query, so a few at a time keep a worker busy; more would
/// only wake more idle readers for every request (the RabbitMQ client runs one reader per message a channel may work
/// on at once, and a delivery wakes all the idle ones).
/// </summary>
public sealed class GetOnlineInsightConsumerDefinition(IOptions<OnlineInsightsOptions> options)
    : OnlineInsightEndpointDefinition<GetOnlineInsightConsumer>(options.Value, options.Value.ConcurrentMessageLimit);

/// <summary>The endpoint of live answers: each waits on the source for most of its time, so many run at once.</summary>
public sealed class GetLiveOnlineInsightConsumerDefinition(IOptions<OnlineInsightsOptions> options)
    : OnlineInsightEndpointDefinition<GetLiveOnlineInsightConsumer>(options.Value, options.Value.LiveConcurrentMessageLimit);

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
