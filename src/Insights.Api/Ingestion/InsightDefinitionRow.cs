namespace Insights.Ingestion;

/// <summary>
/// One insight type of the service-wide catalog, mapped in the catalog's EF model
/// (<see cref="Database.CatalogDbContext"/>) onto the table the migrations create.
/// </summary>
[Table("insight_definitions", Schema = "catalog")]
public sealed class InsightDefinitionRow
{
    [Key]
    public required string Name { get; set; }
    public required string Module { get; set; }
    public required string Priority { get; set; }
    public bool Online { get; set; }
    public required string Source { get; set; }
    public string? Description { get; set; }
    [DatabaseGenerated(DatabaseGeneratedOption.Identity)]
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>PostgreSQL's row version (<c>xmin</c>): the definition's entity tag, checked by every update.</summary>
    [Timestamp]
    public uint Version { get; set; }
}
