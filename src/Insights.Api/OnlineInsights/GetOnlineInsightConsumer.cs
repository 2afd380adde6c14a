using MassTransit;
using Microsoft.Extensions.Options;

namespace Insights.OnlineInsights;

/// <summary>Answers <see cref="GetOnlineInsight"/> requests of the api nodes from the store (worker role).</summary>
public sealed class GetOnlineInsightConsumer(OnlineInsightAnswerer answerer) : IConsumer<GetOnlineInsight>
{
    public async Task Consume(ConsumeContext<GetOnlineInsight> context) =>
        await OnlineInsightMessages.RespondAsync(context, await answerer.AnswerAsync(context.Message, context.CancellationToken));
}

/// <summary>
/// The endpoint of stored lookups. Each is a short database query, so a few at a time keep a worker busy; more would
/// only wake more idle readers for every request (the RabbitMQ client runs one reader per message a channel may work
/// on at once, and a delivery wakes all the idle ones).
/// </summary>
public sealed class GetOnlineInsightConsumerDefinition(IOptions<OnlineInsightsOptions> options)
    : OnlineInsightEndpointDefinition<GetOnlineInsightConsumer>(options.Value, options.Value.ConcurrentMessageLimit);
