using System.Reflection;
using Microsoft.EntityFrameworkCore;

namespace Insights.Database;

/// <summary>
/// The catalog's ordinary reads and writes through EF Core, mapped onto the tables <c>migrations/catalog</c> creates
/// (the model never creates or changes a table), on the catalog's <see cref="NpgsqlDataSource"/> or on a caller's
/// transaction (<see cref="CatalogContexts.OnAsync"/>). Hot paths (queue, ingestion pages, moves, fleet views) and
/// the catalog statements batched with them stay on Npgsql.
/// </summary>
public sealed class CatalogDbContext(DbContextOptions<CatalogDbContext> options) : DbContext(options)
{
    /// <summary>
    /// Each capability maps its own rows beside them (<see cref="TableAttribute"/> naming a <c>catalog</c> table),
    /// found here by reflection, so this context names no table.
    /// </summary>
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        foreach (var row in typeof(CatalogDbContext).Assembly.GetTypes().Where(t => t.GetCustomAttribute<TableAttribute>()?.Schema == "catalog"))
        {
            modelBuilder.Entity(row);
        }
    }
}
