using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Insights.Tenancy;

public sealed class StoreRow
{
    public required string Name { get; set; }
    public int Tenants { get; set; }
    public DateTimeOffset AddedAt { get; set; }

    /// <summary>The row's mapping in the catalog's EF model (the table is the migrations', never created by the model).</summary>
    internal sealed class Configuration : IEntityTypeConfiguration<StoreRow>
    {
        public void Configure(EntityTypeBuilder<StoreRow> builder)
        {
            builder.ToTable("stores");
            builder.HasKey(s => s.Name);
        }
    }
}
