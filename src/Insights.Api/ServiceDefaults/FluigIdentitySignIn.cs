using Insights.Auth;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Insights.ServiceDefaults;

/// <summary>
/// The OpenAPI document's sign-in at Fluig Identity: the authorization code flow (Swagger UI adds PKCE) with the
/// authorization and token endpoints of the authority's discovery document, as this node last read it. While the node
/// has never reached the authority, the scheme names the discovery document and Swagger UI reads it itself.
/// </summary>
internal sealed class FluigIdentitySignIn(FluigIdentityMetadata metadata, IOptions<OpenApiOptions> options) : IDocumentAsyncFilter
{
    private const string Description = "Sign in at Fluig Identity (authorization code with PKCE) as an admin, operator or viewer.";

    public async Task ApplyAsync(OpenApiDocument swaggerDoc, DocumentFilterContext context, CancellationToken cancellationToken)
    {
        OpenApiSecurityScheme scheme;
        try
        {
            var configuration = await metadata.GetConfigurationAsync(cancellationToken);
            scheme = Uri.TryCreate(configuration.AuthorizationEndpoint, UriKind.Absolute, out var authorization)
                && Uri.TryCreate(configuration.TokenEndpoint, UriKind.Absolute, out var token)
                    ? new OpenApiSecurityScheme
                    {
                        Type = SecuritySchemeType.OAuth2,
                        Description = Description,
                        Flows = new OpenApiOAuthFlows
                        {
                            AuthorizationCode = new OpenApiOAuthFlow
                            {
                                AuthorizationUrl = authorization,
                                TokenUrl = token,
                                Scopes = options.Value.ScopeNames().ToDictionary(s => s, _ => "Asked for at sign-in.", StringComparer.Ordinal),
                            },
                        },
                    }
                    : Discovered();
        }
        catch (IdentityProviderUnavailableException)
        {
            scheme = Discovered();
        }

        // Registered with the document, so the security requirement's reference resolves to it.
        swaggerDoc.AddComponent<IOpenApiSecurityScheme>(OpenApi.SignInScheme, scheme);
    }

    private OpenApiSecurityScheme Discovered() => new()
    {
        Type = SecuritySchemeType.OpenIdConnect,
        Description = Description,
        OpenIdConnectUrl = new Uri(metadata.Address),
    };
}
