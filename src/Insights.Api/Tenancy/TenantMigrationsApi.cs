using Insights.Audit;

namespace Insights.Tenancy;

/// <summary>Admin API of tenant migrations: <c>/api/v1/tenant-migrations</c>.</summary>
public static class TenantMigrationsApi
{
    public static RouteGroupBuilder MapTenantMigrationsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapApiGroup("/tenant-migrations", "Tenants");

        group.MapPost("/", Start)
            .Operation(Policies.Operator, "StartTenantMigrations", "Applies pending tenant migrations to every tenant, in the background; returns the run (the running one if a run is going).")
            .Audited("tenant-migrations.start");

        group.MapGet("/", Status)
            .Operation(Policies.Viewer, "GetTenantMigrations", "The latest tenant migration version, how many tenants are behind it, and the progress of the last run.");

        return group;
    }

    private static async Task<Accepted<TenantMigrationRun>> Start(
        TenantMigrationRunner runner, AuditScope audit, IHostApplicationLifetime lifetime)
    {
        var run = await runner.StartAsync(audit.Actor.Subject, lifetime.ApplicationStopping);
        audit.Detail = run.Id.ToString();
        return TypedResults.Accepted("/api/v1/tenant-migrations", run);
    }

    private static async Task<Ok<TenantMigrationStatus>> Status(TenantMigrationRunner runner, CancellationToken cancellationToken) =>
        TypedResults.Ok(await runner.ReadStatusAsync(cancellationToken));
}
