using System.Security.Claims;

namespace Insights.Audit;

/// <summary>Who did an audited action, and from where.</summary>
public sealed record AuditActor(string Subject, string? Name, string? Role, string? ClientAddress, string? RequestId)
{
    /// <summary>An actor known only by the subject recorded with the work (a move finishing in the background).</summary>
    public static AuditActor Known(string subject) => new(subject, null, null, null, null);

    public static AuditActor Of(HttpContext context, PersonRoles roles, string nameClaim)
    {
        var user = context.User;
        return new AuditActor(
            SubjectOf(user),
            StrictClaims.Single(user, nameClaim),
            roles.Of(user) is { } role ? roles.NameOf(role) : null,
            context.Connection.RemoteIpAddress?.ToString(),
            Activity.Current?.Id ?? context.TraceIdentifier);
    }

    /// <summary>The token's subject (<c>sub</c>; a client's <c>client_id</c>), as audits and moves record it.</summary>
    public static string SubjectOf(ClaimsPrincipal user) =>
        StrictClaims.Single(user, "sub") ?? StrictClaims.Single(user, "client_id") ?? StrictClaims.Single(user, "name") ?? "unknown";
}
