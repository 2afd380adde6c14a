using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;

namespace Insights.Audit;

/// <summary>
/// A signed-in caller refused (403) at an audited endpoint is audited too (outcome <c>forbidden</c>): who tried what
/// their role does not allow. Then the default answer.
/// </summary>
internal sealed class AuditedRefusals(AuditTrail trail, PersonRoles roles, IOptions<FluigIdentityOptions> options) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler answer = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Forbidden && context.GetEndpoint()?.Metadata.GetMetadata<AuditedAction>() is { } audited)
        {
            var actor = AuditActor.Of(context, roles, options.Value.NameClaim);
            await trail.RecordAsync(actor, audited.Action, AuditFilter.RouteTenant(context), "forbidden", null);
        }

        await answer.HandleAsync(next, context, policy, authorizeResult);
    }
}
