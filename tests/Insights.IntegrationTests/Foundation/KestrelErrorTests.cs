using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Insights.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Insights.IntegrationTests.Foundation;

/// <summary>
/// The real host on Kestrel on a loopback port: errors Kestrel answers itself, before any middleware, are problem
/// details too, and so are routing's. Requests go over a bare socket where an HTTP client would refuse to send them.
/// </summary>
public sealed class KestrelErrorTests(KestrelErrorTests.Host host) : IClassFixture<KestrelErrorTests.Host>
{
    [Fact]
    public async Task A_query_string_over_the_request_line_limit_is_414_problem_details()
    {
        var response = await RawHttp.SendAsync(host.Address, $"GET /api/v1/tenants?q={new string('a', 20 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n");
        var problem = AssertRejected(response, HttpStatusCode.RequestUriTooLong);
        Assert.Contains("8192 bytes", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_header_over_the_headers_limit_is_431_problem_details()
    {
        var response = await RawHttp.SendAsync(host.Address, $"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: {new string('a', 100 * 1024)}\r\n\r\n");
        AssertRejected(response, HttpStatusCode.RequestHeaderFieldsTooLarge);
    }

    [Fact]
    public async Task More_headers_than_the_limit_is_431_problem_details()
    {
        var headers = string.Concat(Enumerable.Range(0, 500).Select(i => $"X-Header-{i}: {i}\r\n"));
        var response = await RawHttp.SendAsync(host.Address, $"GET /health/live HTTP/1.1\r\nHost: x\r\n{headers}\r\n");
        AssertRejected(response, HttpStatusCode.RequestHeaderFieldsTooLarge);
    }

    [Theory]
    [InlineData("GET /api/v1/ten\0ants HTTP/1.1\r\nHost: x\r\n\r\n")]
    [InlineData("GET /api/v1/ten%00ants HTTP/1.1\r\nHost: x\r\n\r\n")]
    [InlineData("GET /api/v1/tenants HTTP/1.1\r\nHost: x\r\nX-Return: a\rb\r\n\r\n")]
    [InlineData("GET /api/v1/ten ants HTTP/1.1\r\nHost: x\r\n\r\n")]
    [InlineData("GET /api/v1/tenants HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n")]
    [InlineData("GET /api/v1/tenants HTTP/1.1\r\n\r\n")]
    public async Task A_malformed_request_is_400_problem_details(string request)
    {
        AssertRejected(await RawHttp.SendAsync(host.Address, request), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task A_rejection_after_a_good_request_on_the_same_connection_is_problem_details()
    {
        var responses = await RawHttp.SendAllAsync(
            host.Address,
            "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\nGET /api/v1/ten\0ants HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Equal(2, responses.Count);
        Assert.Equal(200, responses[0].Status);
        Assert.Null(responses[0].Header("Connection"));
        AssertRejected(responses[1], HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task An_unknown_route_is_404_problem_details()
    {
        var response = await RawHttp.SendAsync(host.Address, "GET /api/v1/nothing-here HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Problem.AssertRaw(response, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_wrong_method_is_405_problem_details_with_the_allowed_methods()
    {
        var response = await RawHttp.SendAsync(host.Address, "PUT /api/v1/tenants HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        Problem.AssertRaw(response, HttpStatusCode.MethodNotAllowed);
        Assert.Equal("GET, POST", response.Header("Allow"));
    }

    [Fact]
    public async Task A_declared_body_over_the_limit_is_413_problem_details()
    {
        // Expect: 100-continue keeps the body unsent: the host answers on the declared length alone.
        var response = await RawHttp.SendAsync(
            host.Address,
            $"POST /api/v1/tenants HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {4 * 1024 * 1024}\r\n"
            + "Expect: 100-continue\r\nConnection: close\r\n\r\n");
        Problem.AssertRaw(response, HttpStatusCode.RequestEntityTooLarge);
    }

    [Theory]
    [InlineData("POST", "/api/v1/smartlink/messages", """{"type":"OnlineInsightRequest","data":{"insight":"X","key":"{fill}"}}""")]
    [InlineData("POST", "/api/v1/smartlink/messages", """{"type":"OnlineInsightRequest","data":{"insight":"X"}}{fill}""")]
    [InlineData("POST", "/api/v1/smartlink/receive", """{"max":1,"pad":"{fill}"}""")]
    [InlineData("POST", "/api/v1/tenants", """{"id":"{id}","name":"{fill}"}""")]
    [InlineData("PUT", "/api/v1/insight-definitions/ChunkedDefinition", """{"module":"SIGAFIN","priority":"normal","description":"{fill}"}""")]
    public async Task A_chunked_body_over_the_limit_is_413_problem_details_and_changes_nothing(string method, string path, string body)
    {
        // No Content-Length: the limit is found only as the body is read, here 50 MB of it. A body whose first bytes
        // already fail (an unknown field, junk after the JSON) is still over the limit, and 413 as a declared one.
        var tenant = await host.TenantAsync();
        var newTenant = InsightsFixture.NewTenantId("chunked");
        var token = path.Contains("/smartlink/", StringComparison.Ordinal) ? host.Authority.TenantToken(tenant) : host.Authority.AdminToken();
        var fillAt = body.IndexOf("{fill}", StringComparison.Ordinal);
        var response = await RawHttp.SendChunkedAsync(
            host.Address,
            $"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
            body[..fillAt].Replace("{id}", newTenant, StringComparison.Ordinal),
            50L * 1024 * 1024,
            'a',
            body[(fillAt + "{fill}".Length)..]);
        var problem = Problem.AssertRaw(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("larger than the limit", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        using var admin = host.Client(host.Authority.AdminToken());
        await Problem.AssertAsync(await admin.GetAsync($"/api/v1/tenants/{newTenant}"), HttpStatusCode.NotFound);
        await Problem.AssertAsync(await admin.GetAsync("/api/v1/insight-definitions/ChunkedDefinition"), HttpStatusCode.NotFound);
        using var client = host.Client(host.Authority.TenantToken(tenant));
        var received = await client.PostAsync("/api/v1/smartlink/receive", new StringContent("""{"max":10}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, received.StatusCode);
        Assert.Equal("""{"messages":[]}""", await received.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_chunked_body_within_the_limit_that_fails_is_400_naming_the_field()
    {
        var tenant = await host.TenantAsync();
        var response = await RawHttp.SendChunkedAsync(
            host.Address,
            $"POST /api/v1/smartlink/receive HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {host.Authority.TenantToken(tenant)}\r\n"
            + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            "{\"max\":1,\"pad\":\"",
            512 * 1024,
            'a',
            "\"}");
        var problem = Problem.AssertRaw(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("pad", out _), problem.ToString());
    }

    [Fact]
    public async Task A_body_that_is_not_json_is_415_problem_details()
    {
        using var client = new HttpClient { BaseAddress = host.Address };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", host.Authority.AdminToken());
        using var response = await client.PostAsync("/api/v1/tenants", new StringContent("id=a", Encoding.UTF8, "text/plain"));
        await Problem.AssertAsync(response, HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task A_request_to_a_good_route_is_unchanged()
    {
        using var client = new HttpClient { BaseAddress = host.Address };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", host.Authority.AdminToken());
        for (var i = 0; i < 3; i++)
        {
            using var response = await client.GetAsync("/api/v1/tenants?limit=1");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            Assert.StartsWith("{\"items\":", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Headers_or_a_body_that_do_not_arrive_in_time_are_408_problem_details()
    {
        // Its own host with short timeouts; the test waits for the answers, however long the host takes to give them.
        var (factory, address) = Host.Start(
            InsightsFactory.Settings(host.Authority, host.Database),
            services => services.Configure<KestrelServerOptions>(o =>
            {
                o.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(1);
                o.Limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 100, gracePeriod: TimeSpan.FromSeconds(2));
            }));
        await using (factory)
        {
            AssertRejected(await RawHttp.SendAsync(address, "GET /health/live HTTP/1.1\r\nHost: x\r\n"), HttpStatusCode.RequestTimeout);

            var slowBody = await RawHttp.SendAsync(
                address,
                $"POST /api/v1/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {host.Authority.AdminToken()}\r\n"
                + "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"id\":");
            Problem.AssertRaw(slowBody, HttpStatusCode.RequestTimeout);
        }
    }

    /// <summary>Kestrel's own answer: problem details, and the connection closed after it.</summary>
    private static System.Text.Json.JsonElement AssertRejected(RawResponse response, HttpStatusCode status)
    {
        var problem = Problem.AssertRaw(response, status);
        Assert.Equal("close", response.Header("Connection"));
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("traceId").GetString()));
        return problem;
    }

    public sealed class Host : IAsyncLifetime
    {
        public TestAuthority Authority { get; private set; } = null!;
        public TestDatabase Database { get; private set; } = null!;
        public Uri Address { get; private set; } = null!;
        private InsightsFactory factory = null!;

        public async Task InitializeAsync()
        {
            Authority = await TestAuthority.StartAsync();
            Database = await TestDatabase.CreateAsync();
            (factory, Address) = Start(InsightsFactory.Settings(Authority, Database));
            tenant = new Lazy<Task<string>>(ProvisionTenantAsync);
        }

        private Lazy<Task<string>> tenant = null!;

        /// <summary>A client of this host over its loopback port, with a bearer token.</summary>
        public HttpClient Client(string token)
        {
            var client = new HttpClient { BaseAddress = Address };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            return client;
        }

        /// <summary>A tenant of this host, provisioned on first use.</summary>
        public Task<string> TenantAsync() => tenant.Value;

        private async Task<string> ProvisionTenantAsync()
        {
            var id = InsightsFixture.NewTenantId("kestrel");
            using var admin = Client(Authority.AdminToken());
            var created = await admin.PostAsync("/api/v1/tenants", new StringContent($$"""{"id":"{{id}}","name":"{{id}}"}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            return id;
        }

        /// <summary>Starts the host on Kestrel on a free loopback port.</summary>
        public static (InsightsFactory Factory, Uri Address) Start(Dictionary<string, string?> settings, Action<IServiceCollection>? services = null)
        {
            var factory = new InsightsFactory(settings, services: services);
            factory.UseKestrel(0);
            factory.StartServer();
            var address = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
                .Select(a => new Uri(a))
                .First();
            return (factory, new UriBuilder(address) { Host = "127.0.0.1" }.Uri);
        }

        public async Task DisposeAsync()
        {
            await factory.DisposeAsync();
            await Database.DisposeAsync();
            await Authority.DisposeAsync();
        }
    }
}
