using System.Text.RegularExpressions;
using FluentValidation;
using Insights.Auth;
using Insights.Database;
using Insights.Http;
using Insights.ServiceDefaults;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Memory;
using Npgsql;

namespace Insights.Ingestion;

/// <summary>An insight type of the service-wide catalog.</summary>
public sealed record InsightDefinition(
    string Name, string Module, string Priority, bool Online, string Source, string? Description, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public bool IsHighPriority => Priority == "high";
}

public sealed record PutInsightDefinitionRequest(string? Module, string? Priority, bool? Online, string? Source, string? Description);

public sealed partial class InsightDefinitionStore(CatalogContexts catalog, IMemoryCache cache)
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

    /// <summary>Creates or replaces a definition; true when it was created. Two creates of one name at once: one creates, the other replaces.</summary>
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

/// <summary>Admin API of the insight catalog: <c>/api/v1/insight-definitions</c>.</summary>
public static class InsightDefinitionsApi
{
    public static RouteGroupBuilder MapInsightDefinitionsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/insight-definitions")
            .WithTags("Insight definitions")
            .RequireAuthorization(Policies.Admin)
            .WithCommonProblems();

        group.MapGet("/", async (InsightDefinitionStore store, CancellationToken ct) =>
                TypedResults.Ok(new Page<InsightDefinition>([.. (await store.AllAsync(ct)).Values.OrderBy(d => d.Name, StringComparer.Ordinal)], null)))
            .WithName("ListInsightDefinitions")
            .WithSummary("The catalog of insight types.");

        group.MapGet("/{name}", Get)
            .WithName("GetInsightDefinition")
            .WithSummary("One insight type.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        group.MapPut("/{name}", Put)
            .WithName("PutInsightDefinition")
            .WithSummary("Creates (201) or replaces (200) an insight type: module, priority (normal|high), online, source (store|live).")
            .Validate<PutInsightDefinitionRequest>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        group.MapDelete("/{name}", Delete)
            .WithName("DeleteInsightDefinition")
            .WithSummary("Removes an insight type; models of it are skipped by later ingestions.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        return group;
    }

    private static async Task<Results<Ok<InsightDefinition>, ProblemHttpResult>> Get(string name, InsightDefinitionStore store, CancellationToken ct) =>
        (await store.AllAsync(ct)).TryGetValue(name, out var definition) ? TypedResults.Ok(definition) : NotFound(name);

    private static async Task<Results<Created<InsightDefinition>, Ok<InsightDefinition>, ProblemHttpResult>> Put(
        string name, PutInsightDefinitionRequest request, InsightDefinitionStore store, CancellationToken ct)
    {
        if (!InsightDefinitionStore.NamePattern().IsMatch(name))
        {
            return TypedResults.Problem(
                title: "Invalid insight name",
                detail: "An insight name starts with a letter and holds up to 100 letters, digits, '_', '.' and '-'.",
                statusCode: StatusCodes.Status400BadRequest);
        }

        var (definition, created) = await store.PutAsync(name, request, ct);
        return created ? TypedResults.Created($"/api/v1/insight-definitions/{name}", definition) : TypedResults.Ok(definition);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> Delete(string name, InsightDefinitionStore store, CancellationToken ct) =>
        InsightDefinitionStore.NamePattern().IsMatch(name) && await store.DeleteAsync(name, ct) ? TypedResults.NoContent() : NotFound(name);

    private static ProblemHttpResult NotFound(string name) => TypedResults.Problem(
        title: "Insight type not found",
        detail: InsightDefinitionStore.NamePattern().IsMatch(name) ? $"There is no insight type '{name}'." : "There is no such insight type.",
        statusCode: StatusCodes.Status404NotFound);
}

internal sealed class PutInsightDefinitionRequestValidator : AbstractValidator<PutInsightDefinitionRequest>
{
    public PutInsightDefinitionRequestValidator()
    {
        RuleFor(r => r.Module).NotEmpty().WithMessage("module is required (the Protheus module, e.g. SIGAFIN).")
            .MaximumLength(50).WithMessage("module must be at most 50 characters.");
        RuleFor(r => r.Priority).Must(p => p is null or "normal" or "high").WithMessage("priority must be normal or high.");
        RuleFor(r => r.Source).Must(s => s is null or "store" or "live").WithMessage("source must be store or live.");
        RuleFor(r => r.Description).MaximumLength(1000).WithMessage("description must be at most 1000 characters.");
    }
}
