using Insights.Audit;
using Insights.Tenancy;

namespace Insights.SmartLink;

/// <summary>Admin view and control of a tenant's queue: <c>/api/v1/tenants/{tenantId}/messages</c>.</summary>
public static class MessagesApi
{
    private static readonly string[] Statuses = ["ready", "leased", "acked", "dead"];

    public static RouteGroupBuilder MapMessagesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapApiGroup("/tenants/{tenantId}/messages", "Messages")
            .ProducesProblem(StatusCodes.Status404NotFound);

        group.MapGet("/", List)
            .Operation(Policies.Viewer, "ListMessages", "Browses the tenant's queue in enqueue order, by status and type.")
            .ProducesValidationProblem();

        group.MapGet("/{messageId:guid}", Get)
            .Operation(Policies.Operator, "GetMessage", "One message with its envelope, delivery history, dead reason and the processing status Protheus reported.");

        group.MapPost("/{messageId:guid}/resend", Resend)
            .Operation(Policies.Operator, "ResendMessage", "Enqueues a fresh copy of the message (new id, same type, priority and data).")
            .Audited("message.resend");

        group.MapPost("/dead-letters/redrive", Redrive)
            .Operation(Policies.Operator, "RedriveDeadLetters", "Moves dead messages (all, or the ones named) back to ready with a fresh delivery count.")
            .Audited("message.redrive")
            .ProducesValidationProblem();

        return group;
    }

    private static async Task<Results<Ok<Page<MessageSummary>>, ValidationProblem, ProblemHttpResult>> List(
        string tenantId, string? status, string? type, int? limit, string? cursor, TenantDirectory directory, TenantQueues store, CancellationToken cancellationToken)
    {
        var tenant = await directory.FindExistingAsync(tenantId, cancellationToken);
        if (tenant is null)
        {
            return TenantsApi.NotFoundProblem(tenantId);
        }

        var errors = Cursor.Check(limit, cursor, out var pageSize, out var after);
        Guid? afterId = null;
        if (after is not null)
        {
            if (Guid.TryParseExact(after, "N", out var id))
            {
                afterId = id;
            }
            else
            {
                errors ??= [];
                errors["cursor"] = ["cursor is not a cursor this API returned."];
            }
        }

        if (status is not null && !Statuses.Contains(status))
        {
            errors ??= [];
            errors["status"] = [$"status must be one of: {string.Join(", ", Statuses)}."];
        }

        if (type?.Length > 200)
        {
            errors ??= [];
            errors["type"] = ["type must be at most 200 characters."];
        }

        if (errors is not null)
        {
            return TypedResults.ValidationProblem(errors, detail: "One or more query parameters are not valid.");
        }

        var (items, more) = await store.ListAsync(tenant, status, type, afterId, pageSize, cancellationToken);
        return TypedResults.Ok(new Page<MessageSummary>(items, more ? Cursor.Encode(items[^1].Id.ToString("N")) : null));
    }

    private static async Task<Results<Ok<MessageDetail>, ProblemHttpResult>> Get(
        string tenantId, Guid messageId, TenantDirectory directory, TenantQueues store, CancellationToken cancellationToken)
    {
        var tenant = await directory.FindExistingAsync(tenantId, cancellationToken);
        if (tenant is null)
        {
            return TenantsApi.NotFoundProblem(tenantId);
        }

        var message = await store.GetAsync(tenant, messageId, cancellationToken);
        return message is null ? MessageNotFound(messageId) : TypedResults.Ok(message);
    }

    private static async Task<Results<Accepted<ResendResponse>, ProblemHttpResult>> Resend(
        string tenantId, Guid messageId, TenantDirectory directory, TenantQueues store, QueueWriter writer, TenantDatabases connections,
        AuditScope audit, CancellationToken cancellationToken)
    {
        var tenant = await directory.FindExistingAsync(tenantId, cancellationToken);
        if (tenant is null)
        {
            return TenantsApi.NotFoundProblem(tenantId);
        }

        var copy = await store.CopyAsync(tenant, messageId, cancellationToken);
        if (copy is null)
        {
            return MessageNotFound(messageId);
        }

        await writer.EnqueueAsync(connections, tenant, [copy], cancellationToken);
        audit.Detail = $"{messageId} → {copy.Id}";
        return TypedResults.Accepted($"/api/v1/tenants/{tenantId}/messages/{copy.Id}", new ResendResponse(copy.Id));
    }

    private static async Task<Results<Ok<RedriveResponse>, ValidationProblem, ProblemHttpResult>> Redrive(
        string tenantId,
        [Microsoft.AspNetCore.Mvc.FromBody(EmptyBodyBehavior = Microsoft.AspNetCore.Mvc.ModelBinding.EmptyBodyBehavior.Allow)] RedriveRequest? request,
        TenantDirectory directory, TenantQueues store, AuditScope audit, CancellationToken cancellationToken)
    {
        var tenant = await directory.FindExistingAsync(tenantId, cancellationToken);
        if (tenant is null)
        {
            return TenantsApi.NotFoundProblem(tenantId);
        }

        if (request?.MessageIds is { Count: > 1000 })
        {
            return TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { ["messageIds"] = ["messageIds may name at most 1000 messages; leave it out to redrive all."] },
                detail: "One or more fields are not valid.");
        }

        var redriven = await store.RedriveAsync(tenant, request?.MessageIds, cancellationToken);
        audit.Detail = $"{redriven} redriven" + (request?.MessageIds is { } named ? $" of {named.Count} named" : "");
        return TypedResults.Ok(new RedriveResponse(redriven));
    }

    private static ProblemHttpResult MessageNotFound(Guid messageId) => TypedResults.Problem(
        title: "Message not found",
        detail: $"The tenant has no message {messageId}.",
        statusCode: StatusCodes.Status404NotFound);
}
