namespace Insights.Messaging;

public static class BusTransport
{
    public const string InMemory = "InMemory";
    public const string RabbitMq = "RabbitMq";
}
