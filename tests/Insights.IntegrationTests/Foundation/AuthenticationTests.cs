using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Security.Cryptography;
using Insights.IntegrationTests.Infrastructure;
using Insights.IntegrationTests.SmartLink;
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

    [Theory]
    [InlineData("ROLE")]
    [InlineData("Role")]
    [InlineData("roles")]
    public async Task An_admin_role_in_a_claim_of_another_name_does_not_make_an_admin(string claim)
    {
        using var client = host.Factory.ClientWithToken(host.Authority.Mint([new Claim("sub", "mallory"), new Claim(claim, TestAuthority.AdminRole)]));
        await Problem.AssertAsync(await client.GetAsync(AdminEndpoint), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task An_admin_role_of_another_case_does_not_make_an_admin()
    {
        using var client = host.Factory.ClientWithToken(host.Authority.Mint([new Claim("sub", "mallory"), new Claim(TestAuthority.RoleClaim, "INSIGHTS-ADMIN")]));
        await Problem.AssertAsync(await client.GetAsync(AdminEndpoint), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task The_admin_role_among_several_roles_makes_an_admin()
    {
        using var client = host.Factory.ClientWithToken(host.Authority.Mint(
            [new Claim("sub", "alice"), new Claim(TestAuthority.RoleClaim, "viewer"), new Claim(TestAuthority.RoleClaim, TestAuthority.AdminRole)]));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(AdminEndpoint)).StatusCode);
    }

    [Fact]
    public async Task A_tenant_claim_with_two_values_is_403_even_when_both_tenants_exist()
    {
        var first = await host.CreateTenantAsync();
        var second = await host.CreateTenantAsync();
        using var client = host.Factory.ClientWithToken(host.Authority.Mint(
            [new Claim("sub", "client"), new Claim(TestAuthority.TenantClaim, first), new Claim(TestAuthority.TenantClaim, second)]));
        await Problem.AssertAsync(await client.GetAsync(TenantEndpoint), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task A_tenant_claim_of_another_case_or_type_names_no_tenant()
    {
        var tenant = await host.CreateTenantAsync(InsightsFixture.NewTenantId("c"));
        var numeric = await host.CreateTenantAsync(Random.Shared.NextInt64(1_000_000_000, 9_999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var cased = host.Factory.ClientWithToken(host.Authority.Mint([new Claim("sub", "c"), new Claim(TestAuthority.TenantClaim.ToUpperInvariant(), tenant)]));
        await Problem.AssertAsync(await cased.GetAsync(TenantEndpoint), HttpStatusCode.Forbidden);
        using var number = host.Factory.ClientWithToken(host.Authority.Mint([new Claim("sub", "n"), new Claim(TestAuthority.TenantClaim, numeric, ClaimValueTypes.Integer64)]));
        await Problem.AssertAsync(await number.GetAsync(TenantEndpoint), HttpStatusCode.Forbidden);
        using var proper = host.TenantClient(numeric);
        Assert.Equal(HttpStatusCode.OK, (await proper.GetAsync(TenantEndpoint)).StatusCode);
    }

    [Theory]
    [InlineData("array of one")]
    [InlineData("array of two")]
    [InlineData("empty array")]
    [InlineData("object")]
    public async Task A_tenant_claim_that_is_not_a_json_string_is_403_and_changes_nothing(string shape)
    {
        var tenant = await host.CreateTenantAsync();
        object claim = shape switch
        {
            "array of one" => new[] { tenant },
            "array of two" => new[] { tenant, tenant },
            "empty array" => Array.Empty<string>(),
            _ => new Dictionary<string, object> { ["id"] = tenant },
        };
        using var client = host.Factory.ClientWithToken(host.Authority.Mint(
            [new Claim("sub", "client-" + tenant)], payload: new Dictionary<string, object> { [TestAuthority.TenantClaim] = claim }));
        using var queue = new QueueClient(host, tenant);
        await queue.EnqueueAsync("not for an array");

        await Problem.AssertAsync(await client.GetAsync(TenantEndpoint), HttpStatusCode.Forbidden);
        await Problem.AssertAsync(await client.PostAsJsonAsync("/api/v1/smartlink/receive", new { max = 10 }), HttpStatusCode.Forbidden);
        await Problem.AssertAsync(
            await client.PostAsJsonAsync("/api/v1/smartlink/messages", new { type = "OnlineInsightRequest", data = new { insight = "X" } }), HttpStatusCode.Forbidden);
        // The message was neither leased nor joined by an answer.
        var delivery = Assert.Single(await queue.ReceiveAsync());
        Assert.Equal(1, delivery.DeliveryCount);
    }

    [Fact]
    public async Task A_tenant_claim_as_a_json_string_still_names_the_tenant()
    {
        var tenant = await host.CreateTenantAsync();
        using var client = host.Factory.ClientWithToken(host.Authority.Mint(
            [new Claim("sub", "client-" + tenant)], payload: new Dictionary<string, object> { [TestAuthority.TenantClaim] = tenant }));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(TenantEndpoint)).StatusCode);
    }

    [Fact]
    public async Task An_admin_whose_token_carries_a_tenant_array_is_still_an_admin()
    {
        // The tenant claim decides only tenant endpoints: the token itself stays valid.
        using var client = host.Factory.ClientWithToken(host.Authority.Mint(
            [new Claim("sub", "alice"), new Claim(TestAuthority.RoleClaim, TestAuthority.AdminRole)],
            payload: new Dictionary<string, object> { [TestAuthority.TenantClaim] = new[] { "acme" } }));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(AdminEndpoint)).StatusCode);
    }

    [Fact]
    public Task A_token_with_a_critical_header_extension_is_401() =>
        AssertUnauthorizedAsync(host.Authority.Mint(
            [new Claim("sub", "a"), new Claim(TestAuthority.RoleClaim, TestAuthority.AdminRole)],
            headers: new Dictionary<string, object> { ["crit"] = new[] { "urn:example:must-understand" }, ["urn:example:must-understand"] = true }));

    [Fact]
    public async Task Outside_development_a_refused_token_is_not_told_why()
    {
        using var client = host.Factory.ClientWithToken(host.Authority.Mint(
            [new Claim("sub", "a"), new Claim(TestAuthority.RoleClaim, TestAuthority.AdminRole)], expires: DateTime.UtcNow.AddMinutes(-5)));
        var response = await client.GetAsync(AdminEndpoint);
        await Problem.AssertAsync(response, HttpStatusCode.Unauthorized);
        var challenge = Assert.Single(response.Headers.WwwAuthenticate);
        Assert.Equal("Bearer", challenge.Scheme);
        Assert.DoesNotContain("error_description", challenge.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("expired", challenge.ToString(), StringComparison.OrdinalIgnoreCase);
    }
}
