using MassTransit;

namespace Insights.OnlineInsights;

/// <summary>Answers <see cref="GetOnlineInsight"/> requests of the api nodes from the store (worker role).</summary>
public sealed class GetOnlineInsightConsumer(OnlineInsightAnswerer answerer) : IConsumer<GetOnlineInsight>
{
    public async Task Consume(ConsumeContext<GetOnlineInsight> context) =>
        await OnlineInsightMessages.RespondAsync(context, await answerer.AnswerAsync(context.Message, context.CancellationToken));
}

/// <summary>
/// The endpoint of stored lookups: short queries, so a few at a time keep a worker busy; more would only wake more idle
/// readers at every delivery (docs/decisions/0007-online-request-reply-tuned-for-waiting-callers.md).
/// </summary>
public sealed class GetOnlineInsightConsumerDefinition(IOptions<OnlineInsightsOptions> options)
    : OnlineInsightEndpointDefinition<GetOnlineInsightConsumer>(options.Value, options.Value.ConcurrentMessageLimit);
