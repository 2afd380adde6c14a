using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Insights.IntegrationTests.Infrastructure;

/// <summary>
/// A stand-in for Fluig Identity: a real HTTP server on loopback serving OIDC metadata and a JWKS, and the RSA key
/// that signs the tokens it mints. The host validates them through the real JwtBearer path.
/// </summary>
public sealed class TestAuthority : IAsyncDisposable
{
    public const string Audience = "insights";
    public const string TenantClaim = "http://www.tnf.com/identity/claims/tenantId";
    public const string RoleClaim = "role";
    public const string AdminRole = "insights-admin";
    public const string OperatorRole = "insights-operator";
    public const string ViewerRole = "insights-viewer";

    private static readonly string[] SigningAlgorithms = ["RS256"];

    private readonly WebApplication app;
    private readonly RsaSecurityKey key;

    private TestAuthority(WebApplication app, RsaSecurityKey key, string issuer)
    {
        this.app = app;
        this.key = key;
        Issuer = issuer;
    }

    public string Issuer { get; }

    public static async Task<TestAuthority> StartAsync()
    {
        var key = new RsaSecurityKey(RSA.Create(2048)) { KeyId = "test-" + Guid.NewGuid().ToString("N")[..8] };
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        string issuer = "";
        app.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = issuer,
            ["jwks_uri"] = issuer + "/jwks",
            ["id_token_signing_alg_values_supported"] = SigningAlgorithms,
            ["authorization_endpoint"] = issuer + "/authorize",
            ["token_endpoint"] = issuer + "/token",
        }));
        app.MapGet("/jwks", () =>
        {
            var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(key.Rsa.ExportParameters(false)) { KeyId = key.KeyId });
            return Results.Json(new
            {
                keys = new[] { new { kty = jwk.Kty, use = "sig", kid = jwk.Kid, alg = "RS256", n = jwk.N, e = jwk.E } },
            });
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        issuer = address.TrimEnd('/');
        return new TestAuthority(app, key, issuer);
    }

    public string AdminToken(string subject = "admin-user") =>
        Mint([new Claim("sub", subject), new Claim(RoleClaim, AdminRole)]);

    /// <summary>A person's token: <paramref name="role"/> in the role claim (none when null), a display name.</summary>
    public string PersonToken(string? role, string subject, string? name = null) =>
        Mint([new Claim("sub", subject), new Claim("name", name ?? subject), .. role is null ? Array.Empty<Claim>() : [new Claim(RoleClaim, role)]]);

    public string TenantToken(string tenantId) =>
        Mint([new Claim("sub", "client-" + tenantId), new Claim(TenantClaim, tenantId)]);

    public string Mint(
        IEnumerable<Claim> claims,
        string? issuer = null,
        string? audience = null,
        DateTime? expires = null,
        SecurityKey? signingKey = null,
        string algorithm = SecurityAlgorithms.RsaSha256,
        IDictionary<string, object>? headers = null,
        IDictionary<string, object>? payload = null)
    {
        var now = DateTime.UtcNow;
        var notBefore = expires is { } e && e < now ? e.AddMinutes(-10) : now.AddSeconds(-5);
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer ?? Issuer,
            Audience = audience ?? Audience,
            IssuedAt = notBefore,
            NotBefore = notBefore,
            Expires = expires ?? now.AddMinutes(30),
            Subject = new ClaimsIdentity(claims),
            SigningCredentials = new SigningCredentials(signingKey ?? key, algorithm),
            AdditionalHeaderClaims = headers,
            // Payload values as JSON of any shape (arrays, objects), which claims cannot express.
            Claims = payload,
        });
    }

    /// <summary>An unsigned token (<c>alg: none</c>) carrying admin claims.</summary>
    public string UnsignedAdminToken()
    {
        var header = Base64UrlEncoder.Encode("""{"alg":"none","typ":"JWT"}""");
        var payload = Base64UrlEncoder.Encode(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["iss"] = Issuer,
            ["aud"] = Audience,
            ["sub"] = "attacker",
            [RoleClaim] = AdminRole,
            ["exp"] = DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeSeconds(),
        }));
        return header + "." + payload + ".";
    }

    /// <summary>The classic key-confusion forgery: HS256 with the authority's public key as the HMAC secret.</summary>
    public string HmacWithPublicKeyAdminToken()
    {
        var publicPem = key.Rsa.ExportSubjectPublicKeyInfoPem();
        var secret = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(publicPem)) { KeyId = key.KeyId };
        return Mint([new Claim("sub", "attacker"), new Claim(RoleClaim, AdminRole)], signingKey: secret, algorithm: SecurityAlgorithms.HmacSha256);
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
