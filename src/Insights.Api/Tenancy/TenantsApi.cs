using Insights.Audit;

namespace Insights.Tenancy;

/// <summary>Admin API of tenants: <c>/api/v1/tenants</c>.</summary>
public static class TenantsApi
{
    public const int MaxSettingsBytes = 16 * 1024;

    public static RouteGroupBuilder MapTenantsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapApiGroup("/tenants", "Tenants");

        group.MapPost("/", Create)
            .Operation(Policies.Admin, "CreateTenant", "Provisions a tenant in real time: catalog row, schema and every tenant migration, on the named store or the one with fewest tenants.")
            .Audited("tenant.provision")
            .Validate<CreateTenantRequest>()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);

        group.MapGet("/", List)
            .Operation(Policies.Viewer, "ListTenants", "Lists tenants, ordered by id, optionally of one status.")
            .ProducesValidationProblem();

        group.MapGet("/{tenantId}", Get)
            .Operation(Policies.Viewer, "GetTenant", "One tenant, with its ETag (for If-Match on PATCH and DELETE).")
            .ProducesProblem(StatusCodes.Status404NotFound);

        group.MapPatch("/{tenantId}", Update)
            .Operation(Policies.Operator, "UpdateTenant", "Renames, suspends (status: suspended), resumes (status: active) or replaces the settings of a tenant.")
            .Audited("tenant.update")
            .Validate<UpdateTenantRequest>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        group.MapDelete("/{tenantId}", Delete)
            .Operation(Policies.Admin, "DeleteTenant", "Deprovisions a tenant: drops its schema and all its data; the audit log keeps the record and the id is free again.")
            .Audited("tenant.deprovision")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        group.MapPost("/{tenantId}/move", Move)
            .Operation(Policies.Operator, "MoveTenant", "Moves the tenant's schema to another store while its clients keep working; progress at the move's Location.")
            .Audited("tenant.move")
            .Validate<MoveTenantRequest>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        group.MapGet("/{tenantId}/moves/{moveId}", GetMove)
            .Operation(Policies.Viewer, "GetTenantMove", "A move of the tenant: status, models and messages copied, how long its writes were held, the outcome.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        return group;
    }

    private static async Task<Results<Created<TenantResponse>, ProblemHttpResult>> Create(
        CreateTenantRequest request, TenantCatalog store, AuditScope audit, CancellationToken cancellationToken)
    {
        audit.TenantId = request.Id;
        var settings = request.Settings is { ValueKind: JsonValueKind.Object } s ? s.GetRawText() : "{}";
        var result = await store.ProvisionAsync(request.Id!, request.Name!.Trim(), settings, request.Store, audit.Actor, cancellationToken);
        switch (result.Outcome)
        {
            case ProvisionOutcome.Created:
                // Audited in the provisioning transaction.
                audit.Written = true;
                return TypedResults.Created($"/api/v1/tenants/{Uri.EscapeDataString(request.Id!)}", result.Tenant);
            case ProvisionOutcome.Exists:
                return TypedResults.Problem(
                    title: "Tenant exists",
                    detail: result.Reason ?? $"Tenant '{request.Id}' already exists (status '{result.Tenant?.Status ?? "provisioning"}').",
                    statusCode: StatusCodes.Status409Conflict);
            default:
                return TypedResults.Problem(
                    title: "Provisioning failed",
                    detail: result.Tenant is { Status: TenantStatus.Failed }
                        ? $"{result.Reason} The tenant is marked 'failed'; POST it again to complete the provisioning."
                        : $"{result.Reason} POST it again to retry.",
                    statusCode: StatusCodes.Status500InternalServerError);
        }
    }

    private static async Task<Results<Ok<Page<TenantResponse>>, ValidationProblem>> List(
        TenantCatalog store, string? status, int? limit, string? cursor, CancellationToken cancellationToken)
    {
        var errors = Cursor.Check(limit, cursor, out var pageSize, out var after);
        if (status is not null && !TenantStatus.All.Contains(status))
        {
            errors ??= [];
            errors["status"] = [$"status must be one of: {string.Join(", ", TenantStatus.All)}."];
        }

        if (errors is not null)
        {
            return TypedResults.ValidationProblem(errors, detail: "One or more query parameters are not valid.");
        }

        var (items, more) = await store.ListAsync(status, after, pageSize, cancellationToken);
        return TypedResults.Ok(new Page<TenantResponse>(items, more ? Cursor.Encode(items[^1].Id) : null));
    }

    private static async Task<Results<Ok<TenantResponse>, ProblemHttpResult>> Get(
        string tenantId, TenantCatalog store, HttpResponse response, CancellationToken cancellationToken)
    {
        var tenant = TenantId.IsValid(tenantId) ? await store.GetAsync(tenantId, cancellationToken) : null;
        if (tenant is null)
        {
            return NotFoundProblem(tenantId);
        }

        response.Headers.ETag = EntityTags.Of(tenant.Version);
        return TypedResults.Ok(tenant);
    }

    private static async Task<Results<Ok<TenantResponse>, ProblemHttpResult>> Update(
        string tenantId, UpdateTenantRequest request, TenantCatalog store, AuditScope audit, HttpContext http, CancellationToken cancellationToken)
    {
        if (!TenantId.IsValid(tenantId))
        {
            return NotFoundProblem(tenantId);
        }

        if (!EntityTags.TryReadIfMatch(http.Request, out var ifMatch))
        {
            return EntityTags.Malformed();
        }

        var settings = request.Settings is { ValueKind: JsonValueKind.Object } s ? s.GetRawText() : null;
        var (outcome, tenant, reason) = await store.UpdateAsync(tenantId, request.Name?.Trim(), request.Status, settings, ifMatch, cancellationToken);
        audit.Action = request.Status switch
        {
            TenantStatus.Suspended => "tenant.suspend",
            TenantStatus.Active => "tenant.resume",
            _ => null,
        };
        switch (outcome)
        {
            case ChangeOutcome.Done:
                http.Response.Headers.ETag = EntityTags.Of(tenant!.Version);
                return TypedResults.Ok(tenant);
            case ChangeOutcome.Stale:
                return EntityTags.Stale("tenant");
            case ChangeOutcome.Conflict:
                return TypedResults.Problem(title: "Tenant is not in a state that allows this", detail: reason, statusCode: StatusCodes.Status409Conflict);
            default:
                return NotFoundProblem(tenantId);
        }
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> Delete(
        string tenantId, TenantCatalog store, HttpRequest request, CancellationToken cancellationToken)
    {
        if (!EntityTags.TryReadIfMatch(request, out var ifMatch))
        {
            return EntityTags.Malformed();
        }

        var outcome = TenantId.IsValid(tenantId) ? await store.DeleteAsync(tenantId, ifMatch, cancellationToken) : ChangeOutcome.NotFound;
        if (outcome == ChangeOutcome.NotFound)
        {
            return NotFoundProblem(tenantId);
        }

        if (outcome == ChangeOutcome.Stale)
        {
            return EntityTags.Stale("tenant");
        }

        if (outcome == ChangeOutcome.Conflict)
        {
            const string reason = "A move of the tenant to another store is under way; delete it once the move ended (GET …/moves/{moveId}).";
            return TypedResults.Problem(title: "The tenant cannot be deleted now", detail: reason, statusCode: StatusCodes.Status409Conflict);
        }

        return TypedResults.NoContent();
    }

    private static async Task<Results<Accepted<MoveStarted>, ProblemHttpResult>> Move(
        string tenantId, MoveTenantRequest request, TenantMover mover, AuditScope audit, CancellationToken cancellationToken)
    {
        if (!TenantId.IsValid(tenantId))
        {
            return NotFoundProblem(tenantId);
        }

        var (outcome, move, reason) = await mover.RequestAsync(tenantId, request.Store!, audit.Actor.Subject, cancellationToken);
        switch (outcome)
        {
            case MoveOutcome.Started:
                audit.Detail = $"{move!.From} → {move.To} (move {move.Id})";
                return TypedResults.Accepted($"/api/v1/tenants/{Uri.EscapeDataString(tenantId)}/moves/{move.Id}", new MoveStarted(move.Id));
            case MoveOutcome.Conflict:
                return TypedResults.Problem(title: "The tenant cannot be moved now", detail: reason, statusCode: StatusCodes.Status409Conflict);
            default:
                return NotFoundProblem(tenantId);
        }
    }

    private static async Task<Results<Ok<TenantMoveResponse>, ProblemHttpResult>> GetMove(
        string tenantId, string moveId, TenantMover mover, CancellationToken cancellationToken)
    {
        var move = TenantId.IsValid(tenantId) && Guid.TryParseExact(moveId, "D", out var id) ? await mover.GetAsync(tenantId, id, cancellationToken) : null;
        return move is null
            ? TypedResults.Problem(title: "Move not found", detail: "The tenant has no such move.", statusCode: StatusCodes.Status404NotFound)
            : TypedResults.Ok(move);
    }

    internal static ProblemHttpResult NotFoundProblem(string tenantId) => TypedResults.Problem(
        title: "Tenant not found",
        detail: TenantId.IsValid(tenantId) ? $"There is no tenant '{tenantId}'." : "There is no such tenant.",
        statusCode: StatusCodes.Status404NotFound);
}
