namespace Insights.Database;

public sealed class AuditRow
{
    public long Id { get; set; }
    public DateTimeOffset At { get; set; }
    public required string Subject { get; set; }
    public required string Action { get; set; }
    public string? TenantId { get; set; }
    public required string Outcome { get; set; }
    public string? Detail { get; set; }
}
