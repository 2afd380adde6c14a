namespace Insights.Ingestion;

/// <summary>
/// One ingestion run of a tenant, mapped in the catalog's EF model (<see cref="Database.CatalogDbContext"/>) onto the
/// table the migrations create.
/// </summary>
[Table("ingestion_runs", Schema = "catalog")]
public sealed class IngestionRunRow
{
    [Key]
    [DatabaseGenerated(DatabaseGeneratedOption.None)]
    public Guid Id { get; set; }
    public required string TenantId { get; set; }
    public required string Status { get; set; }
    public required string Trigger { get; set; }
    public DateTimeOffset RequestedAt { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }
    public int Pages { get; set; }
    public long RowsRead { get; set; }
    public long RowsChanged { get; set; }
    public long MessagesEnqueued { get; set; }
    public long Skipped { get; set; }
    [Column(TypeName = "jsonb")]
    public required string SkippedTypes { get; set; }
    public long BytesProcessed { get; set; }
    public long BytesBilled { get; set; }
    [Column(TypeName = "numeric(14, 6)")]
    public decimal EstimatedCostUsd { get; set; }
    public string? Error { get; set; }
    public int Resends { get; set; }
}
