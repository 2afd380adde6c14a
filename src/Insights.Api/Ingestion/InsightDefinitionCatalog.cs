using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Memory;

namespace Insights.Ingestion;

public sealed partial class InsightDefinitionCatalog(CatalogContexts catalog, IMemoryCache cache)
{
    private const string CacheKey = "insight-definitions";

    [GeneratedRegex("\\A[A-Za-z][A-Za-z0-9_.-]{0,99}\\z", RegexOptions.CultureInvariant)]
    public static partial Regex NamePattern();

    /// <summary>Every definition by name; cached briefly, and evicted here on every change.</summary>
    public async Task<IReadOnlyDictionary<string, InsightDefinition>> AllAsync(CancellationToken cancellationToken)
    {
        if (cache.TryGetValue(CacheKey, out IReadOnlyDictionary<string, InsightDefinition>? cached) && cached is not null)
        {
            return cached;
        }

        await using var context = await catalog.CreateAsync(cancellationToken);
        var all = (await context.Set<InsightDefinitionRow>().AsNoTracking().ToListAsync(cancellationToken))
            .Select(Definition)
            .ToDictionary(d => d.Name, StringComparer.Ordinal);
        cache.Set(CacheKey, (IReadOnlyDictionary<string, InsightDefinition>)all, TimeSpan.FromSeconds(5));
        return all;
    }

    /// <summary>
    /// Creates or replaces a definition; true when created. Of two creates of one name at once, one creates and the
    /// other replaces.
    /// </summary>
    public async Task<(InsightDefinition Definition, bool Created)> PutAsync(string name, PutInsightDefinitionRequest request, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            await using var context = await catalog.CreateAsync(cancellationToken);
            var row = await context.Set<InsightDefinitionRow>().SingleOrDefaultAsync(d => d.Name == name, cancellationToken);
            var created = row is null;
            if (row is null)
            {
                row = new InsightDefinitionRow { Name = name, Module = "", Priority = "", Source = "" };
                context.Set<InsightDefinitionRow>().Add(row);
            }

            row.Module = request.Module!.Trim();
            row.Priority = request.Priority ?? "normal";
            row.Online = request.Online ?? false;
            row.Source = request.Source ?? "store";
            row.Description = request.Description;
            row.UpdatedAt = DateTimeOffset.UtcNow;
            try
            {
                await context.SaveChangesAsync(cancellationToken);
            }
            catch (DbUpdateException e) when (created && attempt == 0 && e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
            {
                continue;
            }

            cache.Remove(CacheKey);
            return (Definition(row), created);
        }
    }

    public async Task<bool> DeleteAsync(string name, CancellationToken cancellationToken)
    {
        await using var context = await catalog.CreateAsync(cancellationToken);
        var deleted = await context.Set<InsightDefinitionRow>().Where(d => d.Name == name).ExecuteDeleteAsync(cancellationToken) == 1;
        cache.Remove(CacheKey);
        return deleted;
    }

    private static InsightDefinition Definition(InsightDefinitionRow row) =>
        new(row.Name, row.Module, row.Priority, row.Online, row.Source, row.Description, row.CreatedAt, row.UpdatedAt);
}
