namespace Insights.Tenancy;

/// <summary>
/// One tenant of the catalog, mapped in the catalog's EF model (<see cref="Database.CatalogDbContext"/>) onto the table
/// the migrations create.
/// </summary>
[Table("tenants", Schema = "catalog")]
public sealed class TenantRow
{
    [Key]
    public required string Id { get; set; }
    public required string Name { get; set; }
    public required string Status { get; set; }
    public string? StatusReason { get; set; }
    public required string SchemaName { get; set; }
    public int SchemaVersion { get; set; }
    [Column(TypeName = "jsonb")]
    public required string Settings { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public required string Store { get; set; }

    /// <summary>PostgreSQL's row version (<c>xmin</c>): the tenant's entity tag.</summary>
    [Timestamp]
    public uint Version { get; set; }
}
