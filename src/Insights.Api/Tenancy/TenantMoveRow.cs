namespace Insights.Tenancy;

/// <summary>
/// One move of a tenant between stores, mapped in the catalog's EF model (<see cref="Database.CatalogDbContext"/>) onto
/// the table the migrations create.
/// </summary>
[Table("tenant_moves", Schema = "catalog")]
public sealed class TenantMoveRow
{
    [Key]
    [DatabaseGenerated(DatabaseGeneratedOption.None)]
    public Guid Id { get; set; }
    public required string TenantId { get; set; }
    public required string FromStore { get; set; }
    public required string ToStore { get; set; }
    public required string Status { get; set; }
    public required string RequestedBy { get; set; }
    [DatabaseGenerated(DatabaseGeneratedOption.Identity)]
    public DateTimeOffset RequestedAt { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? SwitchedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }
    public long ModelsCopied { get; set; }
    public long MessagesCopied { get; set; }
    public double? SwitchMs { get; set; }
    public string? Error { get; set; }
}
