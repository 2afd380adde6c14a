using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Insights.Tenancy;

public sealed class TenantMoveRow
{
    public Guid Id { get; set; }
    public required string TenantId { get; set; }
    public required string FromStore { get; set; }
    public required string ToStore { get; set; }
    public required string Status { get; set; }
    public required string RequestedBy { get; set; }
    public DateTimeOffset RequestedAt { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? SwitchedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }
    public long ModelsCopied { get; set; }
    public long MessagesCopied { get; set; }
    public double? SwitchMs { get; set; }
    public string? Error { get; set; }

    /// <summary>The row's mapping in the catalog's EF model (the table is the migrations', never created by the model).</summary>
    internal sealed class Configuration : IEntityTypeConfiguration<TenantMoveRow>
    {
        public void Configure(EntityTypeBuilder<TenantMoveRow> builder)
        {
            builder.ToTable("tenant_moves");
            builder.HasKey(m => m.Id);
            builder.Property(m => m.Id).ValueGeneratedNever();
            builder.Property(m => m.RequestedAt).ValueGeneratedOnAdd().HasDefaultValueSql("now()");
        }
    }
}
