using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace Insights.Auth;

internal sealed class AdminAuthorizationHandler(IOptions<FluigIdentityOptions> options) : AuthorizationHandler<AdminRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, AdminRequirement requirement)
    {
        var settings = options.Value;
        if (StrictClaims.Named(context.User, settings.RoleClaim)
            .Any(c => c.ValueType == ClaimValueTypes.String && string.Equals(c.Value, settings.AdminRole, StringComparison.Ordinal)))
        {
            context.Succeed(requirement);
        }
        else
        {
            context.Fail(new AuthorizationFailureReason(this, "The token holds no admin role."));
        }

        return Task.CompletedTask;
    }
}
