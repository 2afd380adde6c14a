namespace Insights.Tenancy;

/// <summary>
/// One store and its count of tenants, mapped in the catalog's EF model (<see cref="Database.CatalogDbContext"/>) onto
/// the table the migrations create.
/// </summary>
[Table("stores", Schema = "catalog")]
public sealed class StoreRow
{
    [Key]
    public required string Name { get; set; }
    public int Tenants { get; set; }
    public DateTimeOffset AddedAt { get; set; }
}
