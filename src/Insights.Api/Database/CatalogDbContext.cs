using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Insights.Database;

/// <summary>
/// The catalog's ordinary reads and writes through EF Core, mapped onto the tables <c>migrations/catalog</c> creates
/// (DbUp keeps the migrations; the model never creates or changes a table). It runs on the catalog's
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
            e.Property(t => t.Id).HasColumnName("id");
            e.Property(t => t.Name).HasColumnName("name");
            e.Property(t => t.Status).HasColumnName("status");
            e.Property(t => t.StatusReason).HasColumnName("status_reason");
            e.Property(t => t.SchemaName).HasColumnName("schema_name");
            e.Property(t => t.SchemaVersion).HasColumnName("schema_version");
            e.Property(t => t.Settings).HasColumnName("settings").HasColumnType("jsonb");
            e.Property(t => t.CreatedAt).HasColumnName("created_at");
            e.Property(t => t.UpdatedAt).HasColumnName("updated_at");
            e.Property(t => t.Store).HasColumnName("store");
        });

        modelBuilder.Entity<StoreRow>(e =>
        {
            e.ToTable("stores");
            e.HasKey(s => s.Name);
            e.Property(s => s.Name).HasColumnName("name");
            e.Property(s => s.Tenants).HasColumnName("tenants");
            e.Property(s => s.AddedAt).HasColumnName("added_at");
        });

        modelBuilder.Entity<InsightDefinitionRow>(e =>
        {
            e.ToTable("insight_definitions");
            e.HasKey(d => d.Name);
            e.Property(d => d.Name).HasColumnName("name");
            e.Property(d => d.Module).HasColumnName("module");
            e.Property(d => d.Priority).HasColumnName("priority");
            e.Property(d => d.Online).HasColumnName("online");
            e.Property(d => d.Source).HasColumnName("source");
            e.Property(d => d.Description).HasColumnName("description");
            e.Property(d => d.CreatedAt).HasColumnName("created_at").ValueGeneratedOnAdd().HasDefaultValueSql("now()");
            e.Property(d => d.UpdatedAt).HasColumnName("updated_at");
        });

        modelBuilder.Entity<AuditRow>(e =>
        {
            e.ToTable("audit_log");
            e.HasKey(a => a.Id);
            e.Property(a => a.Id).HasColumnName("id").UseIdentityAlwaysColumn();
            e.Property(a => a.At).HasColumnName("at").ValueGeneratedOnAdd().HasDefaultValueSql("now()");
            e.Property(a => a.Subject).HasColumnName("subject");
            e.Property(a => a.Action).HasColumnName("action");
            e.Property(a => a.TenantId).HasColumnName("tenant_id");
            e.Property(a => a.Outcome).HasColumnName("outcome");
            e.Property(a => a.Detail).HasColumnName("detail");
        });

        modelBuilder.Entity<IngestionRunRow>(e =>
        {
            e.ToTable("ingestion_runs");
            e.HasKey(r => r.Id);
            e.Property(r => r.Id).HasColumnName("id").ValueGeneratedNever();
            e.Property(r => r.TenantId).HasColumnName("tenant_id");
            e.Property(r => r.Status).HasColumnName("status");
            e.Property(r => r.Trigger).HasColumnName("trigger");
            e.Property(r => r.RequestedAt).HasColumnName("requested_at");
            e.Property(r => r.StartedAt).HasColumnName("started_at");
            e.Property(r => r.FinishedAt).HasColumnName("finished_at");
            e.Property(r => r.Pages).HasColumnName("pages");
            e.Property(r => r.RowsRead).HasColumnName("rows_read");
            e.Property(r => r.RowsChanged).HasColumnName("rows_changed");
            e.Property(r => r.MessagesEnqueued).HasColumnName("messages_enqueued");
            e.Property(r => r.Skipped).HasColumnName("skipped");
            e.Property(r => r.SkippedTypes).HasColumnName("skipped_types").HasColumnType("jsonb");
            e.Property(r => r.BytesProcessed).HasColumnName("bytes_processed");
            e.Property(r => r.BytesBilled).HasColumnName("bytes_billed");
            e.Property(r => r.EstimatedCostUsd).HasColumnName("estimated_cost_usd").HasColumnType("numeric(14, 6)");
            e.Property(r => r.Error).HasColumnName("error");
            e.Property(r => r.Resends).HasColumnName("resends");
        });

        modelBuilder.Entity<TenantMoveRow>(e =>
        {
            e.ToTable("tenant_moves");
            e.HasKey(m => m.Id);
            e.Property(m => m.Id).HasColumnName("id").ValueGeneratedNever();
            e.Property(m => m.TenantId).HasColumnName("tenant_id");
            e.Property(m => m.FromStore).HasColumnName("from_store");
            e.Property(m => m.ToStore).HasColumnName("to_store");
            e.Property(m => m.Status).HasColumnName("status");
            e.Property(m => m.RequestedBy).HasColumnName("requested_by");
            e.Property(m => m.RequestedAt).HasColumnName("requested_at").ValueGeneratedOnAdd().HasDefaultValueSql("now()");
            e.Property(m => m.StartedAt).HasColumnName("started_at");
            e.Property(m => m.SwitchedAt).HasColumnName("switched_at");
            e.Property(m => m.FinishedAt).HasColumnName("finished_at");
            e.Property(m => m.ModelsCopied).HasColumnName("models_copied");
            e.Property(m => m.MessagesCopied).HasColumnName("messages_copied");
            e.Property(m => m.SwitchMs).HasColumnName("switch_ms");
            e.Property(m => m.Error).HasColumnName("error");
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
    /// <summary>A context on the catalog's pool.</summary>
    public Task<CatalogDbContext> CreateAsync(CancellationToken cancellationToken) => factory.CreateDbContextAsync(cancellationToken);

    /// <summary>
    /// A context on the caller's open connection and inside its transaction: what it saves commits or rolls back with the
    /// caller's other statements.
    /// </summary>
    public async Task<CatalogDbContext> OnAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var context = new CatalogDbContext(new DbContextOptionsBuilder<CatalogDbContext>().UseNpgsql(connection).Options);
        await context.Database.UseTransactionAsync(transaction, cancellationToken);
        return context;
    }
}
