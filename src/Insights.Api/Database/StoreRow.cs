namespace Insights.Database;

public sealed class StoreRow
{
    public required string Name { get; set; }
    public int Tenants { get; set; }
    public DateTimeOffset AddedAt { get; set; }
}
