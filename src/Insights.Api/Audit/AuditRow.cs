namespace Insights.Audit;

/// <summary>
/// One record of the admin audit trail, mapped in the catalog's EF model (<see cref="Database.CatalogDbContext"/>) onto
/// the table the migrations create.
/// </summary>
[Table("audit_log", Schema = "catalog")]
public sealed class AuditRow
{
    [Key]
    [DatabaseGenerated(DatabaseGeneratedOption.Identity)]
    public long Id { get; set; }
    [DatabaseGenerated(DatabaseGeneratedOption.Identity)]
    public DateTimeOffset At { get; set; }
    public required string Subject { get; set; }
    public required string Action { get; set; }
    public string? TenantId { get; set; }
    public required string Outcome { get; set; }
    public string? Detail { get; set; }
    public string? Name { get; set; }
    public string? Role { get; set; }
    public string? ClientAddress { get; set; }
    public string? RequestId { get; set; }
}
