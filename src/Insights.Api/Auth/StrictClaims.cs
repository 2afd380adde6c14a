using System.Security.Claims;

namespace Insights.Auth;

/// <summary>
/// Claims by exact name. <see cref="ClaimsPrincipal.FindFirst(string)"/> and <c>RequireClaim</c> compare claim types
/// ignoring case, so a token carrying <c>"ROLE"</c> or a differently cased tenant claim would be read as the
/// configured one; an identity provider may let a client set such a claim.
/// </summary>
internal static class StrictClaims
{
    public static IEnumerable<Claim> Named(ClaimsPrincipal user, string type) =>
        user.Claims.Where(c => string.Equals(c.Type, type, StringComparison.Ordinal));

    /// <summary>
    /// The one string value of claim <paramref name="type"/>; null when it is missing, repeated, or not a string.
    /// </summary>
    public static string? Single(ClaimsPrincipal user, string type)
    {
        string? value = null;
        foreach (var claim in Named(user, type))
        {
            if (value is not null || claim.ValueType != ClaimValueTypes.String)
            {
                return null;
            }

            value = claim.Value;
        }

        return value;
    }
}
