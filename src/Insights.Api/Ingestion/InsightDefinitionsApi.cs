using Insights.Audit;
using Insights.Tenancy;

namespace Insights.Ingestion;

/// <summary>Admin API of the insight catalog: <c>/api/v1/insight-definitions</c>.</summary>
public static class InsightDefinitionsApi
{
    public static RouteGroupBuilder MapInsightDefinitionsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapApiGroup("/insight-definitions", "Insight definitions");

        group.MapGet("/", async (InsightDefinitionCatalog store, CancellationToken ct) =>
                TypedResults.Ok(new Page<InsightDefinition>([.. (await store.AllAsync(ct)).Values.OrderBy(d => d.Name, StringComparer.Ordinal)], null)))
            .Operation(Policies.Viewer, "ListInsightDefinitions", "The catalog of insight types.");

        group.MapGet("/{name}", Get)
            .Operation(Policies.Viewer, "GetInsightDefinition", "One insight type, with its ETag (for If-Match on PUT and DELETE).")
            .ProducesProblem(StatusCodes.Status404NotFound);

        group.MapPut("/{name}", Put)
            .Operation(Policies.Admin, "PutInsightDefinition", "Creates (201) or replaces (200) an insight type: module, priority (normal|high), online, source (store|live).")
            .Audited("insight-definition.put")
            .Validate<PutInsightDefinitionRequest>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        group.MapDelete("/{name}", Delete)
            .Operation(Policies.Admin, "DeleteInsightDefinition", "Removes an insight type; models of it are skipped by later ingestions.")
            .Audited("insight-definition.delete")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        return group;
    }

    private static async Task<Results<Ok<InsightDefinition>, ProblemHttpResult>> Get(
        string name, InsightDefinitionCatalog store, HttpResponse response, CancellationToken ct)
    {
        var definition = InsightDefinitionCatalog.NamePattern().IsMatch(name) ? await store.GetAsync(name, ct) : null;
        if (definition is null)
        {
            return NotFound(name);
        }

        response.Headers.ETag = EntityTags.Of(definition.Version);
        return TypedResults.Ok(definition);
    }

    private static async Task<Results<Created<InsightDefinition>, Ok<InsightDefinition>, ProblemHttpResult>> Put(
        string name, PutInsightDefinitionRequest request, InsightDefinitionCatalog store, HttpContext http, CancellationToken ct)
    {
        if (!InsightDefinitionCatalog.NamePattern().IsMatch(name))
        {
            return TypedResults.Problem(
                title: "Invalid insight name",
                detail: "An insight name starts with a letter and holds up to 100 letters, digits, '_', '.' and '-'.",
                statusCode: StatusCodes.Status400BadRequest);
        }

        if (!EntityTags.TryReadIfMatch(http.Request, out var ifMatch))
        {
            return EntityTags.Malformed();
        }

        var put = await store.PutAsync(name, request, ifMatch, ct);
        if (put is null)
        {
            return EntityTags.Stale("insight type");
        }

        var (definition, created) = put.Value;

        http.Response.Headers.ETag = EntityTags.Of(definition.Version);
        return created ? TypedResults.Created($"/api/v1/insight-definitions/{name}", definition) : TypedResults.Ok(definition);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> Delete(string name, InsightDefinitionCatalog store, HttpRequest request, CancellationToken ct)
    {
        if (!EntityTags.TryReadIfMatch(request, out var ifMatch))
        {
            return EntityTags.Malformed();
        }

        return !InsightDefinitionCatalog.NamePattern().IsMatch(name)
            ? NotFound(name)
            : await store.DeleteAsync(name, ifMatch, ct) switch
            {
                ChangeOutcome.Done => TypedResults.NoContent(),
                ChangeOutcome.Stale => EntityTags.Stale("insight type"),
                _ => NotFound(name),
            };
    }

    private static ProblemHttpResult NotFound(string name) => TypedResults.Problem(
        title: "Insight type not found",
        detail: InsightDefinitionCatalog.NamePattern().IsMatch(name) ? $"There is no insight type '{name}'." : "There is no such insight type.",
        statusCode: StatusCodes.Status404NotFound);
}
