namespace Insights.Audit;

/// <summary>
/// Records every call of an audited endpoint that reaches it: succeeded (2xx), accepted (202), rejected (4xx, with the
/// problem's detail) or failed (5xx, or an exception).
/// </summary>
internal sealed class AuditFilter(string action) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var services = http.RequestServices;
        var scope = services.GetRequiredService<AuditScope>();
        scope.Actor = AuditActor.Of(http, services.GetRequiredService<PersonRoles>(), services.GetRequiredService<IOptions<FluigIdentityOptions>>().Value.NameClaim);
        var trail = services.GetRequiredService<AuditTrail>();
        object? result;
        try
        {
            result = await next(context);
        }
        catch (Exception e) when (!scope.Written)
        {
            await trail.RecordAsync(scope.Actor, scope.Action ?? action, TenantOf(http, scope), "failed", scope.Detail ?? e.GetType().Name);
            throw;
        }

        if (!scope.Written)
        {
            var (status, problem) = Describe(result);
            var outcome = status switch
            {
                StatusCodes.Status202Accepted => "accepted",
                < 400 => "succeeded",
                < 500 => "rejected",
                _ => "failed",
            };
            await trail.RecordAsync(scope.Actor, scope.Action ?? action, TenantOf(http, scope), outcome, scope.Detail ?? problem);
        }

        return result;
    }

    private static string? TenantOf(HttpContext http, AuditScope scope) => scope.TenantId ?? RouteTenant(http);

    /// <summary>The route's tenant id when it has the shape of one; anything else is not worth recording.</summary>
    internal static string? RouteTenant(HttpContext http) =>
        http.Request.RouteValues.GetValueOrDefault("tenantId") is string id && id.Length is > 0 and <= 64 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-')
            ? id
            : null;

    /// <summary>The status a result answers, and its problem's detail (or validation errors' fields).</summary>
    private static (int Status, string? Problem) Describe(object? result)
    {
        while (result is INestedHttpResult nested)
        {
            result = nested.Result;
        }

        return result switch
        {
            ValidationProblem v => (v.StatusCode, "invalid: " + string.Join(", ", v.ProblemDetails.Errors.Keys)),
            ProblemHttpResult p => (p.StatusCode, p.ProblemDetails.Detail ?? p.ProblemDetails.Title),
            IStatusCodeHttpResult { StatusCode: { } code } => (code, null),
            _ => (StatusCodes.Status200OK, null),
        };
    }
}
