using Microsoft.AspNetCore.Authorization;

namespace Insights.Auth;

/// <summary>The caller must hold the configured admin role in the role claim (exact name and value).</summary>
public sealed class AdminRequirement : IAuthorizationRequirement;
