using Insights.Audit;
using Insights.Tenancy;

namespace Insights.Ingestion;

/// <summary>Admin API of ingestion runs: <c>/api/v1/tenants/{tenantId}/ingestions</c>.</summary>
public static class IngestionApi
{
    public static RouteGroupBuilder MapIngestionApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapApiGroup("/tenants/{tenantId}/ingestions", "Ingestion")
            .ProducesProblem(StatusCodes.Status404NotFound);

        group.MapPost("/", Start)
            .Operation(Policies.Operator, "StartIngestion", "Starts an ingestion run now on a worker; while a run is queued or running, returns that run's id.")
            .Audited("ingestion.start");

        group.MapGet("/", List)
            .Operation(Policies.Viewer, "ListIngestions", "The tenant's runs, newest first.")
            .ProducesValidationProblem();

        group.MapGet("/{runId:guid}", Get)
            .Operation(Policies.Viewer, "GetIngestion", "One run: status, times, rows read and changed, messages enqueued, skipped, bytes processed and billed, cost, error.");

        return group;
    }

    /// <summary>Admin API of the fleet sweeps: <c>/api/v1/ingestion-sweeps</c>.</summary>
    public static RouteGroupBuilder MapIngestionSweepsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapApiGroup("/ingestion-sweeps", "Ingestion");

        group.MapGet("/", ListSweeps)
            .Operation(Policies.Viewer, "ListIngestionSweeps", "The fleet sweeps, newest first: watermark before and after, rows read, applied, left for tenants' own runs and of unknown tenants, tenants touched, bytes processed and billed, estimated cost, duration.")
            .ProducesValidationProblem();

        return group;
    }

    private static async Task<Results<Ok<Page<IngestionSweep>>, ValidationProblem>> ListSweeps(
        int? limit, string? cursor, FleetSweeps sweeps, CancellationToken ct)
    {
        if (CheckIdCursor(limit, cursor, out var pageSize, out var before) is { } errors)
        {
            return TypedResults.ValidationProblem(errors, detail: "One or more query parameters are not valid.");
        }

        var (items, more) = await sweeps.ListAsync(before, pageSize, ct);
        return TypedResults.Ok(new Page<IngestionSweep>(items, more ? Cursor.Encode(items[^1].Id.ToString()) : null));
    }

    private static async Task<Results<Accepted<StartIngestionResponse>, ProblemHttpResult>> Start(
        string tenantId, TenantDirectory directory, IngestionTrigger trigger, AuditScope audit, CancellationToken ct)
    {
        var tenant = await directory.FindExistingAsync(tenantId, ct);
        if (tenant is null)
        {
            return TenantsApi.NotFoundProblem(tenantId);
        }

        if (tenant.Status != TenantStatus.Active)
        {
            return TypedResults.Problem(title: "Tenant suspended", detail: "A suspended tenant is not ingested; resume it first.", statusCode: StatusCodes.Status409Conflict);
        }

        var run = await trigger.RequestAsync(tenant.Id, "admin", ct);
        audit.Detail = $"run {run.Id} ({run.Status})";
        return TypedResults.Accepted($"/api/v1/tenants/{tenant.Id}/ingestions/{run.Id}", new StartIngestionResponse(run.Id, run.Status));
    }

    private static async Task<Results<Ok<Page<IngestionRun>>, ValidationProblem, ProblemHttpResult>> List(
        string tenantId, int? limit, string? cursor, TenantDirectory directory, IngestionRuns runs, CancellationToken ct)
    {
        var tenant = await directory.FindExistingAsync(tenantId, ct);
        if (tenant is null)
        {
            return TenantsApi.NotFoundProblem(tenantId);
        }

        if (CheckIdCursor(limit, cursor, out var pageSize, out var before) is { } errors)
        {
            return TypedResults.ValidationProblem(errors, detail: "One or more query parameters are not valid.");
        }

        var (items, more) = await runs.ListAsync(tenant.Id, before, pageSize, ct);
        return TypedResults.Ok(new Page<IngestionRun>(items, more ? Cursor.Encode(items[^1].Id.ToString()) : null));
    }

    private static async Task<Results<Ok<IngestionRun>, ProblemHttpResult>> Get(
        string tenantId, Guid runId, TenantDirectory directory, IngestionRuns runs, CancellationToken ct)
    {
        var tenant = await directory.FindExistingAsync(tenantId, ct);
        if (tenant is null)
        {
            return TenantsApi.NotFoundProblem(tenantId);
        }

        return await runs.GetAsync(tenant.Id, runId, ct) is { } run
            ? TypedResults.Ok(run)
            : TypedResults.Problem(title: "Run not found", detail: $"The tenant has no ingestion run {runId}.", statusCode: StatusCodes.Status404NotFound);
    }

    /// <summary>
    /// The checks of <see cref="Cursor.Check"/> for lists paged by UUIDv7 id, newest first: the cursor is the last id.
    /// </summary>
    private static Dictionary<string, string[]>? CheckIdCursor(int? limit, string? cursor, out int pageSize, out Guid? before)
    {
        var errors = Cursor.Check(limit, cursor, out pageSize, out var after);
        before = null;
        if (after is not null)
        {
            if (Guid.TryParse(after, out var id))
            {
                before = id;
            }
            else
            {
                errors ??= [];
                errors["cursor"] = ["cursor is not a cursor this API returned."];
            }
        }

        return errors;
    }
}
