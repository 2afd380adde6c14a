using Insights.Auth;
using Insights.Http;
using Insights.ServiceDefaults;

namespace Insights.Tenancy;

/// <summary>Admin API of tenant stores: <c>/api/v1/stores</c>.</summary>
public static class StoresApi
{
    public static RouteGroupBuilder MapStoresApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapApiGroup("/stores", "Tenant stores");

        group.MapGet("/", async (StoreCatalog stores, CancellationToken ct) => TypedResults.Ok(new Page<StoreResponse>(await stores.ListAsync(ct), null)))
            .RequireAuthorization(Policies.Viewer)
            .WithName("ListStores")
            .WithSummary("The PostgreSQL databases that hold tenant schemas: name, tenants, bytes.");

        return group;
    }
}
