using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using Insights.IntegrationTests.Infrastructure;
using Microsoft.IdentityModel.Tokens;

namespace Insights.IntegrationTests.Foundation;

[Collection(SharedHost.Name)]
public sealed class AuthenticationTests(InsightsFixture host)
{
    private const string AdminEndpoint = "/api/v1/tenants";
    private const string TenantEndpoint = "/api/v1/insight-models";

    private async Task AssertUnauthorizedAsync(string? token, string path = AdminEndpoint)
    {
        using var client = host.Factory.ClientWithToken(token);
        var response = await client.GetAsync(path);
        await Problem.AssertAsync(response, HttpStatusCode.Unauthorized);
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
    }

    [Fact]
    public Task No_token_is_401() => AssertUnauthorizedAsync(null);

    [Fact]
    public Task Garbage_token_is_401() => AssertUnauthorizedAsync("not-a-jwt");

    [Fact]
    public Task Expired_token_is_401() =>
        AssertUnauthorizedAsync(host.Authority.Mint([new Claim("sub", "a"), new Claim(TestAuthority.RoleClaim, TestAuthority.AdminRole)], expires: DateTime.UtcNow.AddMinutes(-5)));

    [Fact]
    public Task Token_of_another_issuer_is_401() =>
        AssertUnauthorizedAsync(host.Authority.Mint([new Claim("sub", "a"), new Claim(TestAuthority.RoleClaim, TestAuthority.AdminRole)], issuer: "https://evil.example"));

    [Fact]
    public Task Token_for_another_audience_is_401() =>
        AssertUnauthorizedAsync(host.Authority.Mint([new Claim("sub", "a"), new Claim(TestAuthority.RoleClaim, TestAuthority.AdminRole)], audience: "another-api"));

    [Fact]
    public Task Token_signed_by_an_unknown_key_is_401()
    {
        var stranger = new RsaSecurityKey(RSA.Create(2048)) { KeyId = "stranger" };
        return AssertUnauthorizedAsync(host.Authority.Mint([new Claim("sub", "a"), new Claim(TestAuthority.RoleClaim, TestAuthority.AdminRole)], signingKey: stranger));
    }

    [Fact]
    public Task Unsigned_token_with_alg_none_is_401() => AssertUnauthorizedAsync(host.Authority.UnsignedAdminToken());

    [Fact]
    public Task Hs256_token_signed_with_the_public_key_is_401() => AssertUnauthorizedAsync(host.Authority.HmacWithPublicKeyAdminToken());

    [Fact]
    public async Task Admin_token_reaches_admin_endpoint()
    {
        var response = await host.Admin.GetAsync(AdminEndpoint);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Tenant_token_on_an_admin_endpoint_is_403()
    {
        var tenant = await host.CreateTenantAsync();
        using var client = host.TenantClient(tenant);
        await Problem.AssertAsync(await client.GetAsync(AdminEndpoint), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Admin_token_on_a_tenant_endpoint_is_403()
    {
        await Problem.AssertAsync(await host.Admin.GetAsync(TenantEndpoint), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Tenant_token_reaches_its_tenant_endpoint()
    {
        var tenant = await host.CreateTenantAsync();
        using var client = host.TenantClient(tenant);
        var response = await client.GetAsync(TenantEndpoint);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Token_of_an_unknown_tenant_is_403()
    {
        using var client = host.TenantClient(InsightsFixture.NewTenantId("ghost"));
        await Problem.AssertAsync(await client.GetAsync(TenantEndpoint), HttpStatusCode.Forbidden);
    }
}
