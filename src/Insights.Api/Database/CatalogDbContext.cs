using Insights.Tenancy;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Insights.Database;

/// <summary>
/// The catalog's ordinary reads and writes through EF Core, mapped onto the tables <c>migrations/catalog</c> creates
/// (DbUp keeps the migrations; the model never creates or changes a table); columns are the properties' names in
/// snake_case (<see cref="CatalogContexts.Configure"/>). It runs on the catalog's
/// <see cref="NpgsqlDataSource"/>, and on a connection and transaction of the caller's where a catalog write goes
/// together with other statements (<see cref="CatalogContexts.OnAsync"/>). The hot paths — a tenant's queue, ingestion
/// pages and the runs' counters, moves, the fleet views — stay on Npgsql, and so do the catalog statements batched with
/// them (a run's request with its outbox message, provisioning's steps).
/// </summary>
public sealed class CatalogDbContext(DbContextOptions<CatalogDbContext> options) : DbContext(options)
{
    public DbSet<TenantRow> Tenants => Set<TenantRow>();

    public DbSet<StoreRow> Stores => Set<StoreRow>();

    public DbSet<InsightDefinitionRow> InsightDefinitions => Set<InsightDefinitionRow>();

    public DbSet<AuditRow> Audit => Set<AuditRow>();

    public DbSet<TenantMoveRow> TenantMoves => Set<TenantMoveRow>();

    public DbSet<IngestionRunRow> IngestionRuns => Set<IngestionRunRow>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.HasDefaultSchema("catalog");

        modelBuilder.Entity<TenantRow>(e =>
        {
            e.ToTable("tenants");
            e.HasKey(t => t.Id);
            e.Property(t => t.Settings).HasColumnType("jsonb");
        });

        modelBuilder.Entity<StoreRow>(e =>
        {
            e.ToTable("stores");
            e.HasKey(s => s.Name);
        });

        modelBuilder.Entity<InsightDefinitionRow>(e =>
        {
            e.ToTable("insight_definitions");
            e.HasKey(d => d.Name);
            e.Property(d => d.CreatedAt).ValueGeneratedOnAdd().HasDefaultValueSql("now()");
        });

        modelBuilder.Entity<AuditRow>(e =>
        {
            e.ToTable("audit_log");
            e.HasKey(a => a.Id);
            e.Property(a => a.Id).UseIdentityAlwaysColumn();
            e.Property(a => a.At).ValueGeneratedOnAdd().HasDefaultValueSql("now()");
        });

        modelBuilder.Entity<IngestionRunRow>(e =>
        {
            e.ToTable("ingestion_runs");
            e.HasKey(r => r.Id);
            e.Property(r => r.Id).ValueGeneratedNever();
            e.Property(r => r.SkippedTypes).HasColumnType("jsonb");
            e.Property(r => r.EstimatedCostUsd).HasColumnType("numeric(14, 6)");
        });

        modelBuilder.Entity<TenantMoveRow>(e =>
        {
            e.ToTable("tenant_moves");
            e.HasKey(m => m.Id);
            e.Property(m => m.Id).ValueGeneratedNever();
            e.Property(m => m.RequestedAt).ValueGeneratedOnAdd().HasDefaultValueSql("now()");
        });
    }
}
