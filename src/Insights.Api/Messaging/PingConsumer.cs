using MassTransit;

namespace Insights.Messaging;

public sealed class PingConsumer : IConsumer<Ping>
{
    public Task Consume(ConsumeContext<Ping> context) =>
        context.RespondAsync(new Pong(context.Message.SentAt, Environment.MachineName));
}
