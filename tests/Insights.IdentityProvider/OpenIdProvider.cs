using System.Net;
using System.Net.Sockets;
using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Insights.IdentityProvider;

/// <summary>
/// An OpenID Provider on loopback, built on OpenIddict's server: discovery, JWKS, an authorization endpoint with a login
/// page for people, and a token endpoint for the authorization code grant (PKCE required) and the client credentials
/// grant. Access tokens are RFC 9068 JWTs (<c>typ: at+jwt</c>) for audience <see cref="Audience"/>, signed with RSA keys
/// the tests can roll and withdraw. It counts the discovery and JWKS requests it answers.
/// </summary>
public sealed class OpenIdProvider : IAsyncDisposable
{
    public const string Audience = "insights";
    public const string ApiScope = "insights";
    public const string TenantClaim = "http://www.tnf.com/identity/claims/tenantId";
    public const string RoleClaim = Claims.Role;

    internal const string LoginScheme = "provider-login";

    private readonly WebApplication app;
    private readonly OpenIddictServerOptions server;
    private readonly Lock keys = new();
    private long discoveryRequests;
    private long keySetRequests;

    private OpenIdProvider(WebApplication app, OpenIddictServerOptions server, Uri issuer, ProviderDirectory directory)
    {
        this.app = app;
        this.server = server;
        Issuer = issuer;
        Directory = directory;
    }

    /// <summary>The issuer, as the tokens and the discovery document name it (with a trailing slash).</summary>
    public Uri Issuer { get; }

    /// <summary>The clients and users the provider knows.</summary>
    public ProviderDirectory Directory { get; }

    public long DiscoveryRequests => Interlocked.Read(ref discoveryRequests);

    public long KeySetRequests => Interlocked.Read(ref keySetRequests);

    /// <summary>The ids of the keys the JWKS publishes; the first signs new tokens.</summary>
    public IReadOnlyList<string> SigningKeyIds
    {
        get
        {
            lock (keys)
            {
                return [.. server.SigningCredentials.Select(c => c.Kid)];
            }
        }
    }

    /// <summary>
    /// Starts the provider on <paramref name="port"/> of loopback (0: any free one). <paramref name="issuer"/> is the
    /// address clients reach it at, when that is not its own (a proxy in front of it); the discovery document names its
    /// endpoints under it.
    /// </summary>
    public static async Task<OpenIdProvider> StartAsync(int port = 0, Uri? issuer = null)
    {
        port = port == 0 ? FreePort() : port;
        issuer ??= new Uri($"http://127.0.0.1:{port}/");
        var directory = new ProviderDirectory();

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Services.AddDataProtection().UseEphemeralDataProtectionProvider();
        builder.Services.AddCors();
        builder.Services.AddSingleton(directory);
        builder.Services.AddAuthentication(LoginScheme).AddCookie(LoginScheme, o =>
        {
            o.LoginPath = LoginPage.Path;
            o.Cookie.Name = "provider-login";
        });
        builder.Services.AddOpenIddict().AddServer(o =>
        {
            o.SetIssuer(issuer);
            o.SetAuthorizationEndpointUris("connect/authorize")
                .SetTokenEndpointUris("connect/token");
            o.AllowAuthorizationCodeFlow().RequireProofKeyForCodeExchange();
            o.AllowClientCredentialsFlow();
            o.RegisterScopes(Scopes.OpenId, Scopes.Profile, ApiScope);
            // No database: the two checks below know the clients, and codes are self-contained.
            o.EnableDegradedMode();
            o.AddEventHandler(AuthorizationRequestCheck.Descriptor);
            o.AddEventHandler(TokenRequestCheck.Descriptor);
            o.AddEphemeralEncryptionKey();
            o.DisableAccessTokenEncryption();
            o.AddSigningCredentials(NewSigningCredentials());
            o.UseAspNetCore()
                .EnableAuthorizationEndpointPassthrough()
                .EnableTokenEndpointPassthrough()
                .DisableTransportSecurityRequirement();
        });

        var app = builder.Build();
        OpenIdProvider? provider = null;
        // Swagger UI redeems its code from the browser, on another origin.
        app.UseCors(p => p.AllowAnyOrigin().AllowAnyHeader().AllowAnyMethod());
        app.Use((context, next) =>
        {
            provider?.Count(context.Request.Path);
            return next(context);
        });
        app.UseAuthentication();
        LoginPage.Map(app);
        app.MapMethods("/connect/authorize", [HttpMethods.Get, HttpMethods.Post], AuthorizeAsync);
        app.MapPost("/connect/token", TokenAsync);

        await app.StartAsync();
        var server = app.Services.GetRequiredService<IOptionsMonitor<OpenIddictServerOptions>>().CurrentValue;
        provider = new OpenIdProvider(app, server, issuer, directory);
        return provider;
    }

    /// <summary>
    /// Adds a new signing key in front: new tokens are signed with it; the JWKS publishes it beside the others. Returns
    /// its id. Call it between requests.
    /// </summary>
    public string RollSigningKey()
    {
        var credentials = NewSigningCredentials();
        lock (keys)
        {
            server.SigningCredentials.Insert(0, credentials);
        }

        return credentials.Kid;
    }

    /// <summary>Takes a key out of the JWKS (and out of use). Call it between requests.</summary>
    public void WithdrawSigningKey(string keyId)
    {
        lock (keys)
        {
            if (!server.SigningCredentials.Any(c => c.Kid != keyId))
            {
                throw new InvalidOperationException("The provider keeps at least one signing key.");
            }

            server.SigningCredentials.RemoveAll(c => c.Kid == keyId);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }

    private static SigningCredentials NewSigningCredentials()
    {
        var key = new RsaSecurityKey(RSA.Create(2048)) { KeyId = "k-" + Guid.NewGuid().ToString("N")[..12] };
        return new SigningCredentials(key, SecurityAlgorithms.RsaSha256);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Count(PathString path)
    {
        if (path.Equals("/.well-known/openid-configuration", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref discoveryRequests);
        }
        else if (path.Equals("/.well-known/jwks", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref keySetRequests);
        }
    }

    /// <summary>A person signed in at the login page gets a code for the client; anyone else goes to the login page.</summary>
    private static async Task<IResult> AuthorizeAsync(HttpContext context, ProviderDirectory directory)
    {
        var request = context.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("Not an OpenID Connect request.");
        var login = await context.AuthenticateAsync(LoginScheme);
        if (!login.Succeeded || directory.FindUser(login.Principal.Identity?.Name) is not { } user)
        {
            return Results.Challenge(
                new AuthenticationProperties { RedirectUri = context.Request.PathBase + context.Request.Path + context.Request.QueryString },
                [LoginScheme]);
        }

        var identity = new ClaimsIdentity(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme, Claims.Name, RoleClaim);
        identity.AddClaim(new Claim(Claims.Subject, user.Name));
        identity.AddClaim(new Claim(Claims.Name, user.Name));
        foreach (var role in user.Roles)
        {
            identity.AddClaim(new Claim(RoleClaim, role));
        }

        var principal = new ClaimsPrincipal(identity);
        principal.SetScopes(request.GetScopes());
        principal.SetResources(Audience);
        principal.SetDestinations(static claim => claim.Type switch
        {
            Claims.Name => [Destinations.AccessToken, Destinations.IdentityToken],
            _ => [Destinations.AccessToken],
        });
        return Results.SignIn(principal, authenticationScheme: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    /// <summary>
    /// The code of a person becomes their token; a Protheus client gets a token naming its tenant, as a JSON string.
    /// </summary>
    private static async Task<IResult> TokenAsync(HttpContext context, ProviderDirectory directory)
    {
        var request = context.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("Not an OpenID Connect request.");
        if (request.IsAuthorizationCodeGrantType())
        {
            var code = await context.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
            return Results.SignIn(code.Principal!, authenticationScheme: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        }

        var client = directory.FindTenantClient(request.ClientId)
            ?? throw new InvalidOperationException("The client was checked before the token endpoint.");
        var identity = new ClaimsIdentity(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme, Claims.Name, RoleClaim);
        identity.AddClaim(new Claim(Claims.Subject, client.ClientId));
        identity.AddClaim(new Claim(TenantClaim, client.TenantId));
        var principal = new ClaimsPrincipal(identity);
        principal.SetScopes(request.GetScopes());
        principal.SetResources(Audience);
        principal.SetDestinations(static _ => [Destinations.AccessToken]);
        return Results.SignIn(principal, authenticationScheme: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }
}
