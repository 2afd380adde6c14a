namespace Insights.Messaging;

/// <summary>A message type the outbox may carry; each capability registers its own.</summary>
public sealed record OutboxMessageType(Type Type)
{
    public string Name => Type.Name;
}
