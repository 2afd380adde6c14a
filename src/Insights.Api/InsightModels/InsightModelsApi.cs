using Insights.Tenancy;
using Microsoft.AspNetCore.Mvc;

namespace Insights.InsightModels;

/// <summary>Browsing stored insight models: tenant clients see their own, admins any tenant's.</summary>
public static class InsightModelsApi
{
    public static void MapInsightModelsApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/insight-models", (TenantContext tenant, InsightModelReader reader, string? insight, string? key, DateTimeOffset? updatedSince, int? limit, string? cursor, CancellationToken ct) =>
                Browse(reader, tenant.Current, insight, key, updatedSince, limit, cursor, ct))
            .WithTags("Insight models")
            .Operation(Policies.Tenant, "ListOwnInsightModels", "The caller's tenant's stored insight models, newest first.")
            .Produces<Page<InsightModelResponse>>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);

        routes.MapGet("/tenants/{tenantId}/insight-models", async (string tenantId, TenantDirectory directory, InsightModelReader reader, string? insight, string? key, DateTimeOffset? updatedSince, int? limit, string? cursor, CancellationToken ct) =>
            {
                var tenant = await directory.FindExistingAsync(tenantId, ct);
                if (tenant is null)
                {
                    return (IResult)TenantsApi.NotFoundProblem(tenantId);
                }

                return await Browse(reader, tenant, insight, key, updatedSince, limit, cursor, ct);
            })
            .WithTags("Insight models")
            .Operation(Policies.Operator, "ListTenantInsightModels", "One tenant's stored insight models, newest first (payloads: operators and admins).")
            .Produces<Page<InsightModelResponse>>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<IResult> Browse(
        InsightModelReader reader, TenantInfo tenant, string? insight, string? key, DateTimeOffset? updatedSince, int? limit, string? cursor, CancellationToken ct)
    {
        var errors = Cursor.Check(limit, cursor, out var pageSize, out var after);
        InsightModelReader.Position? position = null;
        if (after is not null && !InsightModelReader.Position.TryParse(after, out position))
        {
            errors ??= [];
            errors["cursor"] = ["cursor is not a cursor this API returned."];
        }

        if (errors is not null)
        {
            return TypedResults.ValidationProblem(errors, detail: "One or more query parameters are not valid.");
        }

        return TypedResults.Ok(await reader.ListAsync(tenant, insight, key, updatedSince, position, pageSize, ct));
    }
}
