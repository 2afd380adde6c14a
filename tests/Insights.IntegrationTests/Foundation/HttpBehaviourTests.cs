using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Insights.Http;
using Insights.IntegrationTests.Infrastructure;
using Insights.Messaging;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Insights.IntegrationTests.Foundation;

[Collection(SharedHost.Name)]
public sealed class HttpBehaviourTests(InsightsFixture host)
{
    [Fact]
    public async Task Malformed_json_is_400_problem_details_and_creates_nothing()
    {
        var response = await host.Admin.PostAsync("/api/v1/tenants", new StringContent("{\"id\": \"abc\", \"name\": ", Encoding.UTF8, "application/json"));
        var problem = await Problem.AssertAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("not valid JSON", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Admin.GetAsync("/api/v1/tenants/abc")).StatusCode);
    }

    [Fact]
    public async Task Wrong_value_type_is_400_naming_the_field()
    {
        var response = await host.Admin.PostAsync("/api/v1/tenants", new StringContent("""{"id": 42, "name": "x"}""", Encoding.UTF8, "application/json"));
        var problem = await Problem.AssertAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("id must be a string", problem.GetProperty("errors").GetProperty("id")[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_body_is_400()
    {
        var response = await host.Admin.PostAsync("/api/v1/tenants", new StringContent("", Encoding.UTF8, "application/json"));
        await Problem.AssertAsync(response, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Wrong_content_type_is_415()
    {
        var response = await host.Admin.PostAsync("/api/v1/tenants", new StringContent("id=a&name=b", Encoding.UTF8, "application/x-www-form-urlencoded"));
        await Problem.AssertAsync(response, HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task Validation_failure_is_400_with_errors_per_field()
    {
        var response = await host.Admin.PostAsJsonAsync("/api/v1/tenants", new { id = "", name = "" });
        var problem = await Problem.AssertAsync(response, HttpStatusCode.BadRequest);
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty("id", out _));
        Assert.True(errors.TryGetProperty("name", out _));
    }

    [Fact]
    public async Task Body_over_the_limit_is_413()
    {
        var huge = new string('x', 2 * 1024 * 1024);
        var response = await host.Admin.PostAsync("/api/v1/tenants", new StringContent($"{{\"id\":\"big\",\"name\":\"{huge}\"}}", Encoding.UTF8, "application/json"));
        await Problem.AssertAsync(response, HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task Streamed_body_over_the_limit_is_413()
    {
        var huge = Encoding.UTF8.GetBytes($"{{\"id\":\"big\",\"name\":\"{new string('x', 2 * 1024 * 1024)}\"}}");
        var content = new StreamContent(new MemoryStream(huge));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/tenants") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        var response = await host.Admin.SendAsync(request);
        await Problem.AssertAsync(response, HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task Streamed_body_over_the_limit_is_413_even_when_its_first_bytes_fail()
    {
        var id = InsightsFixture.NewTenantId("big");
        var huge = Encoding.UTF8.GetBytes($"{{\"id\":\"{id}\",\"nmae\":\"{new string('x', 2 * 1024 * 1024)}\"}}");
        var content = new StreamContent(new MemoryStream(huge));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/tenants") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        var problem = await Problem.AssertAsync(await host.Admin.SendAsync(request), HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("larger than the limit of", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await Problem.AssertAsync(await host.Admin.GetAsync($"/api/v1/tenants/{id}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Unknown_route_is_404_problem_details()
    {
        await Problem.AssertAsync(await host.Admin.GetAsync("/api/v1/nothing-here"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Liveness_answers_without_a_token()
    {
        using var client = host.Factory.CreateClient();
        var response = await client.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Readiness_reports_postgres_and_the_bus()
    {
        using var client = host.Factory.CreateClient();
        // The bus connects in the background once the host has started.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var response = await client.GetAsync("/health/ready");
            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            if (body.GetProperty("status").GetString() == "Healthy" || DateTime.UtcNow > deadline)
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal("Healthy", body.GetProperty("status").GetString());
                Assert.Equal(["postgres", "bus"], body.GetProperty("checks").EnumerateObject().Select(c => c.Name).ToList());
                return;
            }

            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task OpenApi_document_lists_every_endpoint_with_the_sign_in_at_the_authority()
    {
        using var client = host.Factory.CreateClient();
        var document = JsonDocument.Parse(await client.GetStringAsync("/swagger/v1/swagger.json")).RootElement;
        var paths = document.GetProperty("paths");

        var endpoints = host.Factory.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/", StringComparison.Ordinal) == true)
            .ToList();
        Assert.NotEmpty(endpoints);
        foreach (var endpoint in endpoints)
        {
            var path = System.Text.RegularExpressions.Regex.Replace("/" + endpoint.RoutePattern.RawText!.Trim('/'), @"\{(\w+):[^}]+\}", "{$1}");
            Assert.True(paths.TryGetProperty(path, out var operations), $"{path} is missing from the OpenAPI document");
            foreach (var method in endpoint.Metadata.OfType<HttpMethodMetadata>().SelectMany(m => m.HttpMethods))
            {
                Assert.True(operations.TryGetProperty(method.ToLowerInvariant(), out var operation), $"{method} {path} is missing");
                Assert.True(operation.TryGetProperty("responses", out var responses) && responses.EnumerateObject().Any(), $"{method} {path} documents no response");
            }
        }

        // Outside Development people sign in at the authority (authorization code; Swagger UI adds PKCE) with the
        // endpoints of its discovery document; a pasted token is for Development only.
        var schemes = document.GetProperty("components").GetProperty("securitySchemes");
        Assert.False(schemes.TryGetProperty("Bearer", out _));
        var flow = schemes.GetProperty("FluigIdentity").GetProperty("flows").GetProperty("authorizationCode");
        Assert.Equal(host.Authority.Issuer + "/authorize", flow.GetProperty("authorizationUrl").GetString());
        Assert.Equal(host.Authority.Issuer + "/token", flow.GetProperty("tokenUrl").GetString());
        Assert.Equal(["openid", "insights"], flow.GetProperty("scopes").EnumerateObject().Select(s => s.Name).ToList());
        Assert.Equal("FluigIdentity", Assert.Single(Assert.Single(document.GetProperty("security").EnumerateArray().ToList()).EnumerateObject().ToList()).Name);

        // Stored JSON (skipped types, envelopes, histories) is documented as the JSON value it is, not as a wrapper.
        var schemas = document.GetProperty("components").GetProperty("schemas");
        Assert.False(schemas.TryGetProperty("RawJson", out _));
        Assert.False(schemas.GetProperty("IngestionRun").GetProperty("properties").GetProperty("skippedTypes").TryGetProperty("$ref", out _));
    }

    [Fact]
    public async Task Swagger_ui_is_served()
    {
        using var client = host.Factory.CreateClient();
        var response = await client.GetAsync("/swagger/index.html");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Timestamps_are_utc_with_a_z()
    {
        var id = await host.CreateTenantAsync();
        var text = await host.Admin.GetStringAsync($"/api/v1/tenants/{id}");
        var createdAt = JsonDocument.Parse(text).RootElement.GetProperty("createdAt").GetString()!;
        Assert.EndsWith("Z", createdAt, StringComparison.Ordinal);
        Assert.DoesNotContain("+00:00", text, StringComparison.Ordinal);
    }

    [Fact]
    public void The_bus_reports_no_usage_to_its_vendor()
    {
        // MassTransit would send usage telemetry over the internet at start; the tracker that does it is replaced.
        var tracker = host.Factory.Services.GetRequiredService<MassTransit.UsageTracking.IUsageTracker>();
        Assert.Equal("NoUsageTracking", tracker.GetType().Name);
        Assert.False(host.Factory.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<MassTransit.UsageTelemetryOptions>>().Value.Enabled);
    }
}
