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
}

public sealed class StoreRow
{
    public required string Name { get; set; }
    public int Tenants { get; set; }
    public DateTimeOffset AddedAt { get; set; }
}

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
}

public sealed class AuditRow
{
    public long Id { get; set; }
    public DateTimeOffset At { get; set; }
    public required string Subject { get; set; }
    public required string Action { get; set; }
    public string? TenantId { get; set; }
    public required string Outcome { get; set; }
    public string? Detail { get; set; }
}

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
}

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
}

/// <summary>Contexts of the catalog for singletons: pooled, on the catalog's data source or on a caller's connection.</summary>
public sealed class CatalogContexts(IDbContextFactory<CatalogDbContext> factory)
{
    /// <summary>What every catalog context shares besides its connection: tables' and columns' names in snake_case.</summary>
    internal static void Configure(DbContextOptionsBuilder options) => options.UseSnakeCaseNamingConvention();

    /// <summary>A context on the catalog's pool.</summary>
    public Task<CatalogDbContext> CreateAsync(CancellationToken cancellationToken) => factory.CreateDbContextAsync(cancellationToken);

    /// <summary>
    /// A context on the caller's open connection and inside its transaction: what it saves commits or rolls back with the
    /// caller's other statements.
    /// </summary>
    public async Task<CatalogDbContext> OnAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var options = new DbContextOptionsBuilder<CatalogDbContext>().UseNpgsql(connection);
        Configure(options);
        var context = new CatalogDbContext(options.Options);
        await context.Database.UseTransactionAsync(transaction, cancellationToken);
        return context;
    }
}
