using Microsoft.AspNetCore.Authorization;

namespace Insights.Auth;

/// <summary>The caller must hold, in the role claim (exact name and value), the configured name of this role or a higher one.</summary>
public sealed record PersonRoleRequirement(PersonRole Minimum) : IAuthorizationRequirement;
