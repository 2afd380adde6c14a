using System.Security.Claims;

namespace Insights.Auth;

/// <summary>Reads a person's role from the token: the highest configured role its role claim names.</summary>
public sealed class PersonRoles(IOptions<FluigIdentityOptions> options)
{
    public PersonRole? Of(ClaimsPrincipal user)
    {
        var settings = options.Value;
        PersonRole? highest = null;
        foreach (var claim in StrictClaims.Named(user, settings.RoleClaim))
        {
            if (claim.ValueType != ClaimValueTypes.String)
            {
                continue;
            }

            PersonRole? role = claim.Value switch
            {
                var v when v == settings.AdminRole => PersonRole.Admin,
                var v when v == settings.OperatorRole => PersonRole.Operator,
                var v when v == settings.ViewerRole => PersonRole.Viewer,
                _ => null,
            };
            if (role is { } held && (highest is null || held > highest))
            {
                highest = held;
            }
        }

        return highest;
    }

    /// <summary>The configured name of a role, as tokens carry it.</summary>
    public string NameOf(PersonRole role) => role switch
    {
        PersonRole.Admin => options.Value.AdminRole,
        PersonRole.Operator => options.Value.OperatorRole,
        _ => options.Value.ViewerRole,
    };
}
