using Insights.Tenancy;

namespace Insights.FleetHealth;

/// <summary>Admin API of one tenant's usage: <c>/api/v1/tenants/{tenantId}/usage</c>.</summary>
public static class TenantUsageApi
{
    /// <summary>Maps a tenant's usage on the tenants' route group (its tags and common problems).</summary>
    public static RouteGroupBuilder MapTenantUsageApi(this RouteGroupBuilder tenants)
    {
        tenants.MapGet("/{tenantId}/usage", Usage)
            .Operation(Policies.Viewer, "GetTenantUsage", "What the tenant uses: schema bytes and rows per table.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        return tenants;
    }

    private static async Task<Results<Ok<TenantUsage>, ProblemHttpResult>> Usage(
        string tenantId, TenantUsageReader usage, CancellationToken cancellationToken)
    {
        var result = TenantId.IsValid(tenantId) ? await usage.ReadAsync(tenantId, cancellationToken) : null;
        return result is null ? TenantsApi.NotFoundProblem(tenantId) : TypedResults.Ok(result);
    }
}
