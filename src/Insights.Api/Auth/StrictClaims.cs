using System.Security.Claims;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Insights.Auth;

/// <summary>
/// Claims by exact name. <see cref="ClaimsPrincipal.FindFirst(string)"/> and <c>RequireClaim</c> compare claim types
/// ignoring case, so a token carrying <c>"ROLE"</c> or a differently cased tenant claim would be read as the
/// configured one; an identity provider may let a client set such a claim.
/// </summary>
internal static class StrictClaims
{
    /// <summary>
    /// Makes claim <paramref name="type"/> read as the JSON it is in the token when that is not a string: the token
    /// library turns an array into one claim per element, so <c>["acme"]</c> would otherwise pass for <c>"acme"</c>.
    /// Its claims become one claim holding the JSON text, of a JSON value type, which <see cref="Single"/> refuses.
    /// </summary>
    public static void KeepJsonType(ClaimsIdentity identity, JsonWebToken token, string type)
    {
        if (!token.TryGetPayloadValue<object>(type, out var value) || value is string)
        {
            return;
        }

        foreach (var claim in identity.Claims.Where(c => string.Equals(c.Type, type, StringComparison.Ordinal)).ToList())
        {
            identity.TryRemoveClaim(claim);
        }

        var (text, valueType) = value switch
        {
            JsonElement { ValueKind: JsonValueKind.Array } array => (array.GetRawText(), JsonClaimValueTypes.JsonArray),
            JsonElement element => (element.GetRawText(), JsonClaimValueTypes.Json),
            null => ("null", JsonClaimValueTypes.JsonNull),
            _ => (JsonSerializer.Serialize(value), JsonClaimValueTypes.Json),
        };
        identity.AddClaim(new Claim(type, text, valueType, token.Issuer));
    }

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
