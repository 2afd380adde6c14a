namespace Insights.Database;

public sealed class InsightDefinitionRow
{
    public required string Name { get; set; }
    public required string Module { get; set; }
    public required string Priority { get; set; }
    public bool Online { get; set; }
    public required string Source { get; set; }
    public string? Description { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}
