namespace Insights.Database;

public sealed class TenantRow
{
    public required string Id { get; set; }
    public required string Name { get; set; }
    public required string Status { get; set; }
    public string? StatusReason { get; set; }
    public required string SchemaName { get; set; }
    public int SchemaVersion { get; set; }
    public required string Settings { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public required string Store { get; set; }
}
