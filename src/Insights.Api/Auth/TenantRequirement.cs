using Microsoft.AspNetCore.Authorization;

namespace Insights.Auth;

/// <summary>The caller must be a client of an existing, active tenant, named by exactly one tenant claim.</summary>
public sealed class TenantRequirement : IAuthorizationRequirement;
