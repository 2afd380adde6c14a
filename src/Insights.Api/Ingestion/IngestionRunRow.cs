using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Insights.Ingestion;

public sealed class IngestionRunRow
{
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
    public required string SkippedTypes { get; set; }
    public long BytesProcessed { get; set; }
    public long BytesBilled { get; set; }
    public decimal EstimatedCostUsd { get; set; }
    public string? Error { get; set; }
    public int Resends { get; set; }

    /// <summary>The row's mapping in the catalog's EF model (migrations create the table, never the model).</summary>
    internal sealed class Configuration : IEntityTypeConfiguration<IngestionRunRow>
    {
        public void Configure(EntityTypeBuilder<IngestionRunRow> builder)
        {
            builder.ToTable("ingestion_runs");
            builder.HasKey(r => r.Id);
            builder.Property(r => r.Id).ValueGeneratedNever();
            builder.Property(r => r.SkippedTypes).HasColumnType("jsonb");
            builder.Property(r => r.EstimatedCostUsd).HasColumnType("numeric(14, 6)");
        }
    }
}
