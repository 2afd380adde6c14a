using System.Text.RegularExpressions;
using Insights.Tenancy;
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

    /// <summary>One definition as stored now (not cached: its version is the one a write checks).</summary>
    public async Task<InsightDefinition?> GetAsync(string name, CancellationToken cancellationToken)
    {
        await using var context = await catalog.CreateAsync(cancellationToken);
        var row = await context.Set<InsightDefinitionRow>().AsNoTracking().SingleOrDefaultAsync(d => d.Name == name, cancellationToken);
        return row is null ? null : Definition(row);
    }

    /// <summary>
    /// Creates or replaces a definition; true when created; null when <paramref name="ifMatch"/> names no current
    /// version (a definition that does not exist has none). Of two creates of one name at once, one creates and the
    /// other replaces.
    /// </summary>
    public async Task<(InsightDefinition Definition, bool Created)?> PutAsync(
        string name, PutInsightDefinitionRequest request, string[]? ifMatch, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            await using var context = await catalog.CreateAsync(cancellationToken);
            var row = await context.Set<InsightDefinitionRow>().SingleOrDefaultAsync(d => d.Name == name, cancellationToken);
            if (ifMatch is not null && (row is null || !ifMatch.Contains(row.Version.ToString(CultureInfo.InvariantCulture))))
            {
                return null;
            }

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
            catch (DbUpdateConcurrencyException) when (ifMatch is not null)
            {
                // Written by someone else between the read and this write.
                return null;
            }
            catch (DbUpdateConcurrencyException) when (attempt == 0)
            {
                continue;
            }

            cache.Remove(CacheKey);
            return (Definition(row), created);
        }
    }

    public async Task<ChangeOutcome> DeleteAsync(string name, string[]? ifMatch, CancellationToken cancellationToken)
    {
        await using var context = await catalog.CreateAsync(cancellationToken);
        var versions = ifMatch?.Select(v => uint.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : (uint?)null).OfType<uint>().ToArray();
        var deleted = await context.Set<InsightDefinitionRow>()
            .Where(d => d.Name == name && (versions == null || versions.Contains(d.Version)))
            .ExecuteDeleteAsync(cancellationToken) == 1;
        cache.Remove(CacheKey);
        if (deleted)
        {
            return ChangeOutcome.Done;
        }

        return ifMatch is not null && await GetAsync(name, cancellationToken) is not null ? ChangeOutcome.Stale : ChangeOutcome.NotFound;
    }

    private static InsightDefinition Definition(InsightDefinitionRow row) =>
        new(row.Name, row.Module, row.Priority, row.Online, row.Source, row.Description, row.CreatedAt, row.UpdatedAt, row.Version);
}
