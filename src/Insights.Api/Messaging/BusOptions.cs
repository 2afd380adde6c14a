namespace Insights.Messaging;

/// <summary>The message bus (section <c>Bus</c>): in-memory when all roles share one process, else RabbitMQ.</summary>
public sealed class BusOptions : IValidatableObject
{
    public const string Section = "Bus";

    /// <summary><c>InMemory</c> or <c>RabbitMq</c>.</summary>
    public string Transport { get; set; } = BusTransport.InMemory;

    /// <summary>Prepended to every queue name, so several deployments can share one broker.</summary>
    [RegularExpression("^[a-z0-9-]{0,40}$", ErrorMessage = "Setting 'Bus:EndpointPrefix' may hold only lowercase letters, digits and '-' (at most 40).")]
    public string? EndpointPrefix { get; set; }

    /// <summary>Messages each consumer endpoint fetches ahead.</summary>
    [Range(1, 1000, ErrorMessage = "Setting 'Bus:PrefetchCount' must be between 1 and 1000.")]
    public int PrefetchCount { get; set; } = 32;

    public RabbitMqOptions RabbitMq { get; set; } = new();

    public bool UsesRabbitMq => string.Equals(Transport, BusTransport.RabbitMq, StringComparison.OrdinalIgnoreCase);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!string.Equals(Transport, BusTransport.InMemory, StringComparison.OrdinalIgnoreCase) && !UsesRabbitMq)
        {
            yield return new ValidationResult($"Setting 'Bus:Transport' must be '{BusTransport.InMemory}' or '{BusTransport.RabbitMq}'; got '{Transport}'.");
        }

        if (UsesRabbitMq)
        {
            if (string.IsNullOrWhiteSpace(RabbitMq.Host))
            {
                yield return new ValidationResult("Setting 'Bus:RabbitMq:Host' is required when 'Bus:Transport' is RabbitMq.");
            }

            if (RabbitMq.Port is < 1 or > 65535)
            {
                yield return new ValidationResult($"Setting 'Bus:RabbitMq:Port' must be between 1 and 65535; got {RabbitMq.Port}.");
            }
        }
    }
}
