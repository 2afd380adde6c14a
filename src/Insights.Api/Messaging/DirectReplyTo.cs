using MassTransit;

namespace Insights.Messaging;

/// <summary>
/// Request clients that take their replies through RabbitMQ's direct reply-to: a reply goes straight to the asking
/// channel, through no queue (nothing to store, route or acknowledge), and a reply whose caller is gone is dropped,
/// which is what a request that timed out wants.
/// </summary>
/// <remarks>
/// Replies are read by one loop. The RabbitMQ client runs one loop per message a channel may work on at once, and
/// every delivery wakes all the idle ones, of which only one gets the message; MassTransit's own reply-to endpoint
/// asks for 1,000 of them. Handling a reply only completes the waiting request, so one loop keeps up with thousands
/// a second and wakes nothing in vain.
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
