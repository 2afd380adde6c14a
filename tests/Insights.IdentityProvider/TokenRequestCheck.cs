using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace Insights.IdentityProvider;

/// <summary>
/// A token request must come from a Protheus client with its secret (client credentials), or from a registered public
/// client without one (authorization code, whose PKCE verifier OpenIddict checks).
/// </summary>
internal sealed class TokenRequestCheck(ProviderDirectory directory) : IOpenIddictServerHandler<ValidateTokenRequestContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } =
        OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenRequestContext>()
            .UseSingletonHandler<TokenRequestCheck>()
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public ValueTask HandleAsync(ValidateTokenRequestContext context)
    {
        var request = context.Request;
        if (request.IsClientCredentialsGrantType())
        {
            if (directory.FindTenantClient(request.ClientId) is not { } client || !ProviderDirectory.SameSecret(client.Secret, request.ClientSecret))
            {
                context.Reject(Errors.InvalidClient, "Unknown client or wrong secret.");
            }
        }
        else if (request.IsAuthorizationCodeGrantType())
        {
            if (directory.FindPublicClient(request.ClientId) is null || !string.IsNullOrEmpty(request.ClientSecret))
            {
                context.Reject(Errors.InvalidClient, "The client is not a registered public client.");
            }
        }
        else
        {
            context.Reject(Errors.UnsupportedGrantType, "Only the authorization code and client credentials grants.");
        }

        return default;
    }
}
