namespace Insights.Tenancy;

/// <summary>Admin API of tenant stores: <c>/api/v1/stores</c>.</summary>
public static class StoresApi
{
    public static RouteGroupBuilder MapStoresApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapApiGroup("/stores", "Tenant stores");

        group.MapGet("/", async (StoreCatalog stores, CancellationToken ct) => TypedResults.Ok(new Page<StoreResponse>(await stores.ListAsync(ct), null)))
            .Operation(Policies.Viewer, "ListStores", "The PostgreSQL databases that hold tenant schemas: name, tenants, bytes.");

        return group;
    }
}
