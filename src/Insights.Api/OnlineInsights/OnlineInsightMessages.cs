using MassTransit;
using MassTransit.Serialization;

namespace Insights.OnlineInsights;

/// <summary>How the online request/reply messages travel.</summary>
internal static class OnlineInsightMessages
{
    /// <summary>
    /// One reply type, whatever the outcome: the caller waits on one response handler, not one per outcome. Answers are
    /// only worth something to a caller still waiting, so they travel <see cref="Transient"/>.
    /// </summary>
    public static Task RespondAsync(ConsumeContext context, OnlineInsightAnswer answer) => context.RespondAsync<OnlineInsightAnswer>(answer, Transient);

    /// <summary>
    /// Requests and replies live no longer than the caller waits: not written to disk nor confirmed (one lost is a
    /// request that times out), and sent as raw JSON with transport headers instead of MassTransit's envelope
    /// (docs/decisions/0007-online-request-reply-tuned-for-waiting-callers.md).
    /// </summary>
    public static void Transient(SendContext context)
    {
        context.Durable = false;
        context.TrySetAwaitAck(false);
        context.Serializer = context.Serialization.GetMessageSerializer(SystemTextJsonRawMessageSerializer.JsonContentType);
    }
}
