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
