using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json;
using Insights.IdentityProvider;
using Insights.IntegrationTests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Insights.IntegrationTests.Foundation;

/// <summary>
/// The node against an OpenID Provider nobody here wrote (OpenIddict): its discovery document and keys, the tokens of
/// its grants, a key rollover without a restart, forged key ids, and the provider out of reach.
/// </summary>
[Collection(OpenIdProviderHost.Name)]
public sealed class OpenIdProviderTests(OpenIdProviderFixture fixture)
{
    private const string AdminEndpoint = "/api/v1/tenants";
    private const string TenantEndpoint = "/api/v1/insight-models";

    /// <summary>A wait on a condition, not a speed limit.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private OpenIdProvider Provider => fixture.Provider;

    [Fact]
    public async Task The_node_reads_the_providers_discovery_document_and_keys_and_admits_an_admin_and_a_tenant_client()
    {
        var adminToken = await fixture.AdminTokenAsync();
        var header = new JsonWebToken(adminToken);
        Assert.Equal("at+jwt", header.Typ);
        Assert.Equal(SecurityAlgorithms.RsaSha256, header.Alg);
        Assert.Equal(["insights"], header.Audiences);
        Assert.Equal(Provider.SigningKeyIds[0], header.Kid);

        using var admin = fixture.Client(adminToken);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync(AdminEndpoint)).StatusCode);
        Assert.True(Provider.DiscoveryRequests >= 1, "The node never read the discovery document.");
        Assert.True(Provider.KeySetRequests >= 1, "The node never read the JWKS.");

        var tenantId = InsightsFixture.NewTenantId("oidc");
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/tenants", new { id = tenantId, name = tenantId })).StatusCode);
        var tenantToken = await Provider.ClientCredentialsAsync(Provider.Directory.AddTenantClient(tenantId));
        var claims = JsonDocument.Parse(Base64UrlEncoder.Decode(tenantToken.Split('.')[1])).RootElement;
        Assert.Equal(JsonValueKind.String, claims.GetProperty(OpenIdProvider.TenantClaim).ValueKind);
        using var tenant = fixture.Client(tenantToken);
        Assert.Equal(HttpStatusCode.OK, (await tenant.GetAsync(TenantEndpoint)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await tenant.GetAsync(AdminEndpoint)).StatusCode);
    }

    [Fact]
    public async Task The_first_token_of_a_new_signing_key_passes_and_a_withdrawn_keys_tokens_fail_after_the_next_refresh()
    {
        var oldToken = await fixture.AdminTokenAsync();
        using var old = fixture.Client(oldToken);
        Assert.Equal(HttpStatusCode.OK, (await old.GetAsync(AdminEndpoint)).StatusCode);
        var oldKey = new JsonWebToken(oldToken).Kid;

        OpenIdProviderFixture.AllowNextFetch(fixture.Clock);
        var newKey = Provider.RollSigningKey();
        var fetchesBefore = Provider.KeySetRequests;
        var newToken = await fixture.AdminTokenAsync();
        Assert.Equal(newKey, new JsonWebToken(newToken).Kid);
        using var fresh = fixture.Client(newToken);
        // The very first request with the new key: the node fetches the keys within it, once.
        Assert.Equal(HttpStatusCode.OK, (await fresh.GetAsync(AdminEndpoint)).StatusCode);
        Assert.Equal(fetchesBefore + 1, Provider.KeySetRequests);
        Assert.Equal(HttpStatusCode.OK, (await old.GetAsync(AdminEndpoint)).StatusCode);

        // Withdrawn: the node holds the key until its next planned refresh, and refuses its tokens from then on.
        Provider.WithdrawSigningKey(oldKey);
        Assert.Equal(HttpStatusCode.OK, (await old.GetAsync(AdminEndpoint)).StatusCode);
        fixture.Clock.Offset += TimeSpan.FromMinutes(61);
        var waited = Stopwatch.StartNew();
        while ((await old.GetAsync(AdminEndpoint)).StatusCode == HttpStatusCode.OK)
        {
            Assert.True(waited.Elapsed < Patience, "The node kept accepting the withdrawn key's tokens.");
            await Task.Delay(50);
        }

        await Problem.AssertAsync(await old.GetAsync(AdminEndpoint), HttpStatusCode.Unauthorized);
        Assert.Equal(HttpStatusCode.OK, (await fresh.GetAsync(AdminEndpoint)).StatusCode);
    }

    [Fact]
    public async Task Forged_key_ids_make_the_node_fetch_the_keys_at_most_once_per_retry_interval()
    {
        using var admin = fixture.Client(await fixture.AdminTokenAsync());
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync(AdminEndpoint)).StatusCode);
        OpenIdProviderFixture.AllowNextFetch(fixture.Clock);
        var fetchesBefore = Provider.KeySetRequests;
        var elapsed = Stopwatch.StartNew();

        using var forger = RSA.Create(2048);
        var statuses = await Task.WhenAll(Enumerable.Range(0, 60).Select(async i =>
        {
            using var client = fixture.Client(Forged(forger, "forged-" + i));
            return (await client.GetAsync(AdminEndpoint)).StatusCode;
        }));

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.Unauthorized, s));
        var fetches = Provider.KeySetRequests - fetchesBefore;
        var allowed = 1 + (int)(elapsed.Elapsed.TotalSeconds / OpenIdProviderFixture.RetrySeconds);
        Assert.True(fetches >= 1 && fetches <= allowed, $"60 forged key ids made {fetches} fetches of the JWKS; at most {allowed} were allowed.");
    }

    [Fact]
    public async Task While_the_provider_is_unreachable_a_started_node_accepts_its_cached_keys_and_a_node_that_never_reached_it_answers_503()
    {
        var adminToken = await fixture.AdminTokenAsync();
        using var started = fixture.Client(adminToken);
        Assert.Equal(HttpStatusCode.OK, (await started.GetAsync(AdminEndpoint)).StatusCode);
        var otherClock = new TestClock();
        await using var never = fixture.Node(otherClock);

        fixture.Link.Cut();
        try
        {
            Assert.Equal(HttpStatusCode.OK, (await started.GetAsync(AdminEndpoint)).StatusCode);
            // Even when its planned refresh fails.
            fixture.Clock.Offset += TimeSpan.FromMinutes(61);
            Assert.Equal(HttpStatusCode.OK, (await started.GetAsync(AdminEndpoint)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await started.GetAsync(AdminEndpoint)).StatusCode);

            // A key it does not hold may be the provider's newest: it cannot tell, so it does not say 401.
            OpenIdProviderFixture.AllowNextFetch(fixture.Clock);
            using var forger = RSA.Create(2048);
            using var unknownKey = fixture.Client(Forged(forger, "not-yet-known"));
            await AssertUnavailableAsync(await unknownKey.GetAsync(AdminEndpoint));

            using var neverWithToken = never.ClientWithToken(adminToken);
            await AssertUnavailableAsync(await neverWithToken.GetAsync(AdminEndpoint));
            await AssertUnavailableAsync(await neverWithToken.GetAsync(AdminEndpoint));
            using var neverWithout = never.ClientWithToken(null);
            await Problem.AssertAsync(await neverWithout.GetAsync(AdminEndpoint), HttpStatusCode.Unauthorized);
        }
        finally
        {
            fixture.Link.Restore();
        }

        // Back: the node that never reached it asks again once Retry-After has passed, without a restart.
        OpenIdProviderFixture.AllowNextFetch(otherClock);
        using var neverAgain = never.ClientWithToken(adminToken);
        Assert.Equal(HttpStatusCode.OK, (await neverAgain.GetAsync(AdminEndpoint)).StatusCode);
    }

    private static async Task AssertUnavailableAsync(HttpResponseMessage response)
    {
        await Problem.AssertAsync(response, HttpStatusCode.ServiceUnavailable);
        var retryAfter = response.Headers.RetryAfter?.Delta;
        Assert.True(retryAfter is { TotalSeconds: >= 1 and <= OpenIdProviderFixture.RetrySeconds }, $"Retry-After was {response.Headers.RetryAfter}");
    }

    /// <summary>An admin token in every way but its signature: a key the provider never had, under a made-up key id.</summary>
    private string Forged(RSA key, string keyId) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
    {
        Issuer = Provider.Issuer.AbsoluteUri,
        Audience = OpenIdProvider.Audience,
        Expires = DateTime.UtcNow.AddMinutes(10),
        Subject = new ClaimsIdentity([new Claim("sub", "mallory"), new Claim(OpenIdProvider.RoleClaim, "insights-admin")]),
        SigningCredentials = new SigningCredentials(new RsaSecurityKey(key) { KeyId = keyId }, SecurityAlgorithms.RsaSha256),
    });
}
