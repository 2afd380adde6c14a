using MassTransit;

namespace Insights.Messaging;

/// <summary>
/// Request clients that take their replies through RabbitMQ's direct reply-to: a reply goes straight to the asking
/// channel, through no queue (nothing to store, route or acknowledge), and a reply whose caller is gone is dropped,
/// which is what a request that timed out wants.
/// </summary>
/// <remarks>
/// Replies are read by one loop: every delivery wakes all of a channel's idle loops, and handling a reply only
/// completes a waiting request (docs/decisions/0007-online-request-reply-tuned-for-waiting-callers.md).
/// </remarks>
internal static class DirectReplyTo
{
    private const string QueueName = "amq.rabbitmq.reply-to";

    public static void UseDirectReplyToRequestClients(this IBusRegistrationConfigurator bus) =>
        bus.SetRequestClientFactory((instance, timeout) =>
            instance.ConnectReceiveEndpoint(new Endpoint(), KebabCaseEndpointNameFormatter.Instance).CreateClientFactory(timeout));

    private sealed class Endpoint : IEndpointDefinition
    {
        public bool IsTemporary => false;

        public int? PrefetchCount => 1;

        public int? ConcurrentMessageLimit => 1;

        public bool ConfigureConsumeTopology => false;

        public string GetEndpointName(IEndpointNameFormatter formatter) => QueueName;

        public void Configure<T>(T configurator, IRegistrationContext? context)
            where T : IReceiveEndpointConfigurator
        {
        }
    }
}
