using System.Net;
using System.Text;
using Insights.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Insights.IntegrationTests.People;

/// <summary>
/// Who may call what: every endpoint the host maps is in the contract's role matrix, declares that policy, and answers
/// each role accordingly (a role below the endpoint's gets 403; one at or above it gets past authorization).
/// </summary>
[Collection(SharedHost.Name)]
public sealed class RoleMatrixTests(InsightsFixture host)
{
    private const string Admin = "Admin", Operator = "Operator", Viewer = "Viewer", Tenant = "Tenant", Anonymous = "(anonymous)";

    /// <summary>The role matrix of contract.md, by method and route pattern: the lowest role that may call it.</summary>
    private static readonly Dictionary<string, string> Matrix = new(StringComparer.Ordinal)
    {
        ["POST /api/v1/tenants"] = Admin,
        ["GET /api/v1/tenants"] = Viewer,
        ["GET /api/v1/tenants/{tenantId}"] = Viewer,
        ["PATCH /api/v1/tenants/{tenantId}"] = Operator,
        ["DELETE /api/v1/tenants/{tenantId}"] = Admin,
        ["POST /api/v1/tenants/{tenantId}/move"] = Operator,
        ["GET /api/v1/tenants/{tenantId}/moves/{moveId}"] = Viewer,
        ["GET /api/v1/tenants/{tenantId}/usage"] = Viewer,
        ["GET /api/v1/stores"] = Viewer,
        ["POST /api/v1/tenant-migrations"] = Operator,
        ["GET /api/v1/tenant-migrations"] = Viewer,
        ["GET /api/v1/tenants/{tenantId}/insight-models"] = Operator,
        ["GET /api/v1/tenants/{tenantId}/messages"] = Viewer,
        ["GET /api/v1/tenants/{tenantId}/messages/{messageId:guid}"] = Operator,
        ["POST /api/v1/tenants/{tenantId}/messages/{messageId:guid}/resend"] = Operator,
        ["POST /api/v1/tenants/{tenantId}/messages/dead-letters/redrive"] = Operator,
        ["GET /api/v1/insight-definitions"] = Viewer,
        ["GET /api/v1/insight-definitions/{name}"] = Viewer,
        ["PUT /api/v1/insight-definitions/{name}"] = Admin,
        ["DELETE /api/v1/insight-definitions/{name}"] = Admin,
        ["POST /api/v1/tenants/{tenantId}/ingestions"] = Operator,
        ["GET /api/v1/tenants/{tenantId}/ingestions"] = Viewer,
        ["GET /api/v1/tenants/{tenantId}/ingestions/{runId:guid}"] = Viewer,
        ["GET /api/v1/ingestion-sweeps"] = Viewer,
        ["GET /api/v1/fleet/health"] = Viewer,
        ["GET /api/v1/audit"] = Admin,
        ["GET /metrics"] = Viewer,
        ["GET /api/v1/insight-models"] = Tenant,
        ["POST /api/v1/smartlink/receive"] = Tenant,
        ["POST /api/v1/smartlink/ack"] = Tenant,
        ["POST /api/v1/smartlink/nack"] = Tenant,
        ["POST /api/v1/smartlink/lease"] = Tenant,
        ["POST /api/v1/smartlink/messages"] = Tenant,
        ["POST /api/v1/online-insights"] = Tenant,
        ["GET /health/live"] = Anonymous,
        ["GET /health/ready"] = Anonymous,
    };

    private static readonly string[] People = [Admin, Operator, Viewer];

    private static List<(string Key, string Method, string Pattern, EndpointMetadataCollection Metadata)> Endpoints(IServiceProvider services) =>
    [
        .. services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                .Select(m => (Key: $"{m} {Pattern(e)}", Method: m, Pattern: Pattern(e), e.Metadata))),
    ];

    private static string Pattern(RouteEndpoint endpoint)
    {
        var text = "/" + endpoint.RoutePattern.RawText!.Trim('/');
        return text.Length > 1 ? text : "/";
    }

    [Fact]
    public void Every_endpoint_declares_the_policy_of_the_role_matrix()
    {
        var endpoints = Endpoints(host.Factory.Services);
        var problems = new List<string>();
        foreach (var (key, _, _, metadata) in endpoints)
        {
            var policies = metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy).OfType<string>().Distinct().ToList();
            var declared = policies.Count switch
            {
                0 when metadata.GetMetadata<IAllowAnonymous>() is not null || metadata.GetMetadata<IAuthorizeData>() is null => Anonymous,
                1 => policies[0],
                _ => string.Join("+", policies),
            };
            if (!Matrix.TryGetValue(key, out var expected))
            {
                problems.Add($"{key} declares {declared} but is not in the role matrix");
            }
            else if (declared != expected)
            {
                problems.Add($"{key} declares {declared}; the matrix says {expected}");
            }
        }

        foreach (var key in Matrix.Keys.Except(endpoints.Select(e => e.Key)))
        {
            problems.Add($"{key} is in the matrix but not mapped");
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task Each_role_gets_past_exactly_the_endpoints_the_matrix_gives_it()
    {
        var tenantId = await host.CreateTenantAsync();
        var tokens = new Dictionary<string, string>
        {
            [Admin] = host.Authority.PersonToken(TestAuthority.AdminRole, "matrix-admin"),
            [Operator] = host.Authority.PersonToken(TestAuthority.OperatorRole, "matrix-operator"),
            [Viewer] = host.Authority.PersonToken(TestAuthority.ViewerRole, "matrix-viewer"),
            ["(no role)"] = host.Authority.PersonToken(null, "matrix-nobody"),
            ["(unknown role)"] = host.Authority.PersonToken("insights-superuser", "matrix-stranger"),
            [Tenant] = host.Authority.TenantToken(tenantId),
        };

        var wrong = new List<string>();
        foreach (var (key, method, pattern, _) in Endpoints(host.Factory.Services).Where(e => Matrix.GetValueOrDefault(e.Key) is not (null or Anonymous)))
        {
            var required = Matrix[key];
            foreach (var (caller, token) in tokens)
            {
                var allowed = required == Tenant
                    ? caller == Tenant
                    : Array.IndexOf(People, caller) is var rank and >= 0 && rank <= Array.IndexOf(People, required);
                using var client = host.Factory.ClientWithToken(token);
                // Routes name a tenant that does not exist (nothing changes), except the tenant client's own routes.
                var path = pattern
                    .Replace("{tenantId}", "no-such-tenant", StringComparison.Ordinal)
                    .Replace("{messageId:guid}", Guid.NewGuid().ToString(), StringComparison.Ordinal)
                    .Replace("{runId:guid}", Guid.NewGuid().ToString(), StringComparison.Ordinal)
                    .Replace("{moveId}", Guid.NewGuid().ToString(), StringComparison.Ordinal)
                    .Replace("{name}", "NoSuchInsight", StringComparison.Ordinal);
                using var request = new HttpRequestMessage(new HttpMethod(method), path);
                if (method is "POST" or "PUT" or "PATCH")
                {
                    request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
                }

                using var response = await client.SendAsync(request);
                var status = response.StatusCode;
                if (allowed ? status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden : status != HttpStatusCode.Forbidden)
                {
                    wrong.Add($"{key} as {caller}: {(int)status}, expected {(allowed ? "past authorization" : "403")}");
                }
            }
        }

        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public async Task The_document_shows_each_operation_its_roles()
    {
        var document = System.Text.Json.Nodes.JsonNode.Parse(await host.Admin.GetStringAsync("/swagger/v1/swagger.json"))!;
        string[] RolesOf(string path, string method) =>
            [.. document["paths"]![path]![method]!["x-insights-roles"]!.AsArray().Select(r => r!.GetValue<string>())];

        Assert.Equal([TestAuthority.AdminRole], RolesOf("/api/v1/tenants", "post"));
        Assert.Equal([TestAuthority.AdminRole, TestAuthority.OperatorRole], RolesOf("/api/v1/tenants/{tenantId}/move", "post"));
        Assert.Equal([TestAuthority.AdminRole, TestAuthority.OperatorRole, TestAuthority.ViewerRole], RolesOf("/api/v1/fleet/health", "get"));
        Assert.Equal(["tenant-client"], RolesOf("/api/v1/smartlink/receive", "post"));
        Assert.Contains("**Roles:** `insights-admin`", document["paths"]!["/api/v1/audit"]!["get"]!["description"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}
