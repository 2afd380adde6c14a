namespace Insights.SmartLink;

/// <summary>The delivery queue (section <c>SmartLink</c>).</summary>
public sealed class SmartLinkOptions
{
    public const string Section = "SmartLink";

    /// <summary>Deliveries without an ack before the message is dead-lettered (<c>MaxDeliveriesExceeded</c>).</summary>
    [Range(1, 1000, ErrorMessage = "Setting 'SmartLink:MaxDeliveries' must be between 1 and 1000.")]
    public int MaxDeliveries { get; set; } = 10;

    /// <summary>How long acked messages are kept before the purge removes them.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "3650.00:00:00", ErrorMessage = "Setting 'SmartLink:AckedRetention' must be between 1 second and 3650 days.")]
    public TimeSpan AckedRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often the purge of acked messages runs.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00", ErrorMessage = "Setting 'SmartLink:PurgeInterval' must be between 1 second and 1 day.")]
    public TimeSpan PurgeInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Largest <c>data</c> of a message a client sends.</summary>
    [Range(1, 16 * 1024 * 1024, ErrorMessage = "Setting 'SmartLink:MaxDataBytes' must be between 1 byte and 16 MiB.")]
    public int MaxDataBytes { get; set; } = 1024 * 1024;

    /// <summary>Requests per second one tenant may make to the client API (token bucket refill).</summary>
    [Range(1, 1_000_000, ErrorMessage = "Setting 'SmartLink:RateLimitPermitsPerSecond' must be between 1 and 1000000.")]
    public int RateLimitPermitsPerSecond { get; set; } = 2000;

    /// <summary>Burst a tenant may spend at once.</summary>
    [Range(1, 1_000_000, ErrorMessage = "Setting 'SmartLink:RateLimitBurst' must be between 1 and 1000000.")]
    public int RateLimitBurst { get; set; } = 4000;
}
