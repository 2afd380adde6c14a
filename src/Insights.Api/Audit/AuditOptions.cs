namespace Insights.Audit;

/// <summary>How long the audit trail is kept (section <c>Audit</c>).</summary>
public sealed class AuditOptions
{
    public const string Section = "Audit";

    /// <summary>Records older than this are deleted, oldest first (default 400 days).</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00", ErrorMessage = "Setting 'Audit:Retention' must be between 1 and 3650 days.")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(400);

    /// <summary>How often the scheduler deletes what expired.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00", ErrorMessage = "Setting 'Audit:TrimInterval' must be between 100 ms and 1 day.")]
    public TimeSpan TrimInterval { get; set; } = TimeSpan.FromHours(1);
}
