using Microsoft.AspNetCore.Authorization;

namespace Insights.Auth;

internal sealed class PersonRoleAuthorizationHandler(PersonRoles roles) : AuthorizationHandler<PersonRoleRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, PersonRoleRequirement requirement)
    {
        if (roles.Of(context.User) >= requirement.Minimum)
        {
            context.Succeed(requirement);
        }
        else
        {
            context.Fail(new AuthorizationFailureReason(this, $"The token holds no role that may do this (at least {requirement.Minimum.ToString().ToLowerInvariant()})."));
        }

        return Task.CompletedTask;
    }
}
