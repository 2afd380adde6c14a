using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace Insights.IdentityProvider;

/// <summary>An authorization request must come from a registered public client, for one of its redirect URIs.</summary>
internal sealed class AuthorizationRequestCheck(ProviderDirectory directory) : IOpenIddictServerHandler<ValidateAuthorizationRequestContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } =
        OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateAuthorizationRequestContext>()
            .UseSingletonHandler<AuthorizationRequestCheck>()
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public ValueTask HandleAsync(ValidateAuthorizationRequestContext context)
    {
        if (directory.FindPublicClient(context.ClientId) is not { } client)
        {
            context.Reject(Errors.InvalidClient, "The client is not registered.");
        }
        else if (context.RedirectUri is null || !client.RedirectUris.ContainsKey(context.RedirectUri))
        {
            context.Reject(Errors.InvalidRequest, "The redirect_uri is not registered for this client.");
        }

        return default;
    }
}
