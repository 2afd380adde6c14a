using System.Security.Claims;
using Insights.Auth;
using Insights.ServiceDefaults;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Insights.Tenancy;

/// <summary>Admin API of tenant migrations: <c>/api/v1/tenant-migrations</c>.</summary>
public static class TenantMigrationsApi
{
    public static RouteGroupBuilder MapTenantMigrationsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/tenant-migrations")
            .WithTags("Tenants")
            .RequireAuthorization(Policies.Admin)
            .WithCommonProblems();

        group.MapPost("/", Start)
            .WithName("StartTenantMigrations")
            .WithSummary("Applies pending tenant migrations to every tenant, in the background; returns the run (the running one if a run is going).");

        group.MapGet("/", Status)
            .WithName("GetTenantMigrations")
            .WithSummary("The latest tenant migration version, how many tenants are behind it, and the progress of the last run.");

        return group;
    }

    private static async Task<Accepted<TenantMigrationRun>> Start(
        TenantMigrationRunner runner, TenantCatalog store, ClaimsPrincipal user, IHostApplicationLifetime lifetime)
    {
        var subject = TenantsApi.Subject(user);
        var run = await runner.StartAsync(subject, lifetime.ApplicationStopping);
        await store.AuditAsync(subject, "tenant-migrations.start", null, "succeeded", run.Id.ToString());
        return TypedResults.Accepted("/api/v1/tenant-migrations", run);
    }

    private static async Task<Ok<TenantMigrationStatus>> Status(TenantMigrationRunner runner, CancellationToken cancellationToken) =>
        TypedResults.Ok(await runner.ReadStatusAsync(cancellationToken));
}
