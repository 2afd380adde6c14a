using Microsoft.AspNetCore.Authorization;

namespace Insights.Tenancy;

/// <summary>Resolves the token's tenant claim into the request's <see cref="TenantContext"/>.</summary>
internal sealed class TenantAuthorizationHandler(TenantDirectory directory, IOptions<FluigIdentityOptions> options)
    : AuthorizationHandler<TenantRequirement>
{
    protected override async Task HandleRequirementAsync(AuthorizationHandlerContext context, TenantRequirement requirement)
    {
        // A tenant claim with several values (or of another type) is ambiguous: refused, never read as its first value.
        var tenantId = StrictClaims.Single(context.User, options.Value.TenantClaim);
        if (string.IsNullOrEmpty(tenantId) || !TenantId.IsValid(tenantId))
        {
            context.Fail(new AuthorizationFailureReason(this, "The token names no single valid tenant."));
            return;
        }

        var http = context.Resource as HttpContext;
        var tenant = await directory.FindAsync(tenantId, http?.RequestAborted ?? default);
        if (tenant is null || tenant.Status != TenantStatus.Active)
        {
            context.Fail(new AuthorizationFailureReason(this, "The tenant is unknown or not active."));
            return;
        }

        if (http is not null)
        {
            http.RequestServices.GetRequiredService<TenantContext>().Set(tenant);
        }

        context.Succeed(requirement);
    }
}
