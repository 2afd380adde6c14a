using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.IdentityModel.Tokens;

namespace Insights.IdentityProvider;

/// <summary>Access tokens from an <see cref="OpenIdProvider"/>, asked for over HTTP at its issuer as a client asks.</summary>
public static class TokenRequests
{
    /// <summary>A Protheus client's token: the client credentials grant.</summary>
    public static async Task<string> ClientCredentialsAsync(this OpenIdProvider provider, TenantClient client, string scope = OpenIdProvider.ApiScope)
    {
        using var http = new HttpClient { BaseAddress = provider.Issuer };
        return await RedeemAsync(http, new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = client.ClientId,
            ["client_secret"] = client.Secret,
            ["scope"] = scope,
        });
    }

    /// <summary>
    /// A person's token: the authorization code grant with PKCE, as a browser walks it (the authorization request, the
    /// login page, the redirect with the code) and as a public client redeems the code.
    /// </summary>
    public static async Task<string> AuthorizationCodeAsync(
        this OpenIdProvider provider, ProviderUser user, string clientId, Uri redirectUri, string scope = "openid " + OpenIdProvider.ApiScope)
    {
        using var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = new CookieContainer() };
        using var http = new HttpClient(handler) { BaseAddress = provider.Issuer };
        var verifier = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        var state = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16));
        var authorize = QueryHelpers.AddQueryString("connect/authorize", new Dictionary<string, string?>
        {
            ["response_type"] = "code",
            ["client_id"] = clientId,
            ["redirect_uri"] = redirectUri.AbsoluteUri,
            ["scope"] = scope,
            ["state"] = state,
            ["code_challenge"] = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))),
            ["code_challenge_method"] = "S256",
        });

        var login = Redirect(await http.GetAsync(authorize), "the authorization request");
        var returnUrl = QueryHelpers.ParseQuery(login.Query)["ReturnUrl"].ToString();
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["username"] = user.Name,
            ["password"] = user.Password,
            ["returnUrl"] = returnUrl,
        });
        var back = Redirect(await http.PostAsync(login, form), "the login");
        var callback = Redirect(await http.GetAsync(back), "the signed-in authorization request");
        var answer = QueryHelpers.ParseQuery(callback.Query);
        if (answer["state"] != state || answer["code"].ToString() is not { Length: > 0 } code)
        {
            throw new InvalidOperationException($"The provider redirected to {callback} without the code of this request.");
        }

        return await RedeemAsync(http, new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["client_id"] = clientId,
            ["code"] = code,
            ["redirect_uri"] = redirectUri.AbsoluteUri,
            ["code_verifier"] = verifier,
        });
    }

    private static Uri Redirect(HttpResponseMessage response, string step)
    {
        using (response)
        {
            if (response.StatusCode != HttpStatusCode.Redirect || response.Headers.Location is not { } location)
            {
                throw new InvalidOperationException($"The provider answered {step} with {(int)response.StatusCode}, not a redirect.");
            }

            return new Uri(response.RequestMessage!.RequestUri!, location);
        }
    }

    private static async Task<string> RedeemAsync(HttpClient http, Dictionary<string, string> parameters)
    {
        using var form = new FormUrlEncodedContent(parameters);
        using var response = await http.PostAsync("connect/token", form);
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"The token endpoint answered {(int)response.StatusCode}: {body}");
        }

        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("access_token").GetString()!;
    }
}
