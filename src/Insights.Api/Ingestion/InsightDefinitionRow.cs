using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Insights.Ingestion;

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

    /// <summary>The row's mapping in the catalog's EF model (migrations create the table, never the model).</summary>
    internal sealed class Configuration : IEntityTypeConfiguration<InsightDefinitionRow>
    {
        public void Configure(EntityTypeBuilder<InsightDefinitionRow> builder)
        {
            builder.ToTable("insight_definitions");
            builder.HasKey(d => d.Name);
            builder.Property(d => d.CreatedAt).ValueGeneratedOnAdd().HasDefaultValueSql("now()");
        }
    }
}
