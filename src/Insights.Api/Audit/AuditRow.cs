using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Insights.Audit;

public sealed class AuditRow
{
    public long Id { get; set; }
    public DateTimeOffset At { get; set; }
    public required string Subject { get; set; }
    public required string Action { get; set; }
    public string? TenantId { get; set; }
    public required string Outcome { get; set; }
    public string? Detail { get; set; }

    /// <summary>The row's mapping in the catalog's EF model (the migrations create the table, not the model).</summary>
    internal sealed class Configuration : IEntityTypeConfiguration<AuditRow>
    {
        public void Configure(EntityTypeBuilder<AuditRow> builder)
        {
            builder.ToTable("audit_log");
            builder.HasKey(a => a.Id);
            builder.Property(a => a.Id).UseIdentityAlwaysColumn();
            builder.Property(a => a.At).ValueGeneratedOnAdd().HasDefaultValueSql("now()");
        }
    }
}
