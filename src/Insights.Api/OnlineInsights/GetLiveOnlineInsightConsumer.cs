using MassTransit;

namespace Insights.OnlineInsights;

/// <summary>Answers the api nodes' <see cref="GetLiveOnlineInsight"/> from the live source (worker role).</summary>
public sealed class GetLiveOnlineInsightConsumer(OnlineInsightAnswerer answerer) : IConsumer<GetLiveOnlineInsight>
{
    public async Task Consume(ConsumeContext<GetLiveOnlineInsight> context) =>
        await OnlineInsightMessages.RespondAsync(context, await answerer.AnswerAsync(context.Message.Request, context.CancellationToken));
}

/// <summary>The endpoint of live answers: each waits on the source for most of its time, so many run at once.</summary>
public sealed class GetLiveOnlineInsightConsumerDefinition(IOptions<OnlineInsightsOptions> options)
    : OnlineInsightEndpointDefinition<GetLiveOnlineInsightConsumer>(options.Value, options.Value.LiveConcurrentMessageLimit);
