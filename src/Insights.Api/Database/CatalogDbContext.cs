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
    /// <summary>
    /// The entities are their owners': each capability maps its rows in an <see cref="IEntityTypeConfiguration{TEntity}"/>
    /// beside them, found here by reflection, so this context names no table.
    /// </summary>
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.HasDefaultSchema("catalog");
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(CatalogDbContext).Assembly);
    }
}
