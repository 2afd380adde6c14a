using Microsoft.EntityFrameworkCore;

namespace Insights.Database;

/// <summary>Catalog contexts for singletons: pooled on the catalog's data source, or on a caller's.</summary>
public sealed class CatalogContexts(IDbContextFactory<CatalogDbContext> factory)
{
    /// <summary>What every catalog context shares besides its connection: snake_case table and column names.</summary>
    internal static void Configure(DbContextOptionsBuilder options) => options.UseSnakeCaseNamingConvention();

    /// <summary>A context on the catalog's pool.</summary>
    public Task<CatalogDbContext> CreateAsync(CancellationToken cancellationToken) => factory.CreateDbContextAsync(cancellationToken);

    /// <summary>
    /// A context on the caller's open connection and inside its transaction: what it saves commits or rolls back with
    /// the caller's other statements.
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
