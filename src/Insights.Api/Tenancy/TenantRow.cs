using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Insights.Tenancy;

public sealed class TenantRow
{
    public required string Id { get; set; }
    public required string Name { get; set; }
    public required string Status { get; set; }
    public string? StatusReason { get; set; }
    public required string SchemaName { get; set; }
    public int SchemaVersion { get; set; }
    public required string Settings { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public required string Store { get; set; }

    /// <summary>The row's mapping in the catalog's EF model (the table is the migrations', never created by the model).</summary>
    internal sealed class Configuration : IEntityTypeConfiguration<TenantRow>
    {
        public void Configure(EntityTypeBuilder<TenantRow> builder)
        {
            builder.ToTable("tenants");
            builder.HasKey(t => t.Id);
            builder.Property(t => t.Settings).HasColumnType("jsonb");
        }
    }
}
