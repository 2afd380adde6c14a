using System.Globalization;
using System.Net.Http.Headers;
using Insights.IdentityProvider;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Insights.IntegrationTests.Infrastructure;

/// <summary>
/// A real OpenID Provider (OpenIddict, <see cref="OpenIdProvider"/>) behind a link the tests can cut
/// (<see cref="TcpProxy"/>), and a node that trusts it, on Kestrel so a browser can reach its Swagger UI. The node's
/// clock is the tests' own: the unplanned fetches of the provider's keys are limited to one per
/// <see cref="RetrySeconds"/>, and a test that needs the next one moves the clock on (<see cref="AllowNextFetch"/>)
/// instead of waiting.
/// </summary>
public sealed class OpenIdProviderFixture : IAsyncLifetime
{
    /// <summary>Longer than any test takes: within a test, the limit lets one unplanned fetch through.</summary>
    public const int RetrySeconds = 300;

    public const string SwaggerClient = "insights-swagger";

    /// <summary>A public client of the tests, which walk the authorization code flow without a browser.</summary>
    public const string TestsClient = "insights-tests";

    public static readonly Uri TestsRedirect = new("http://127.0.0.1/signed-in");

    public OpenIdProvider Provider { get; private set; } = null!;

    /// <summary>The only way to the provider: its issuer is this link's address.</summary>
    public TcpProxy Link { get; private set; } = null!;

    public TestDatabase Database { get; private set; } = null!;

    public TestClock Clock { get; } = new();

    public InsightsFactory Factory { get; private set; } = null!;

    /// <summary>The node's address on loopback.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    public ProviderUser Admin { get; private set; } = null!;

    public ProviderUser Viewer { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var port = HostProcess.FreePort();
        Link = TcpProxy.Start("127.0.0.1", port);
        Provider = await OpenIdProvider.StartAsync(port, new Uri($"http://127.0.0.1:{Link.Port}/"));
        Database = await TestDatabase.CreateAsync();
        Factory = Node(Clock);
        Factory.UseKestrel(0);
        Factory.StartServer();
        var address = Factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("localhost", "127.0.0.1", StringComparison.Ordinal));

        var directory = Provider.Directory;
        directory.AddPublicClient(TestsClient, TestsRedirect);
        directory.AddPublicClient(SwaggerClient, new Uri(BaseAddress, "/swagger/oauth2-redirect.html"));
        Admin = directory.AddUser("alice", "alice-password", "insights-admin");
        Viewer = directory.AddUser("victor", "victor-password", "insights-viewer");
    }

    /// <summary>
    /// A node (api role) on this fixture's database that trusts the provider, reading <paramref name="clock"/>. Not
    /// started: the first client starts it.
    /// </summary>
    public InsightsFactory Node(TestClock clock) => new(
        new Dictionary<string, string?>
        {
            ["ConnectionStrings:Insights"] = Database.ConnectionString,
            ["Roles"] = "api",
            ["Authentication:Authority"] = Provider.Issuer.AbsoluteUri,
            ["Authentication:RequireHttpsMetadata"] = "false",
            ["Authentication:MetadataRetrySeconds"] = RetrySeconds.ToString(CultureInfo.InvariantCulture),
            ["OpenApi:ClientId"] = SwaggerClient,
            ["Bus:Transport"] = "InMemory",
            ["Logging:LogLevel:Default"] = "Warning",
        },
        services: s => s.AddSingleton<TimeProvider>(clock));

    /// <summary>A client of the fixture's node, with a bearer token when given.</summary>
    public HttpClient Client(string? token = null)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    /// <summary>An admin's access token, through the authorization code flow with PKCE.</summary>
    public Task<string> AdminTokenAsync() => Provider.AuthorizationCodeAsync(Admin, TestsClient, TestsRedirect);

    /// <summary>Moves <paramref name="clock"/> past the limit, so the node's next unplanned fetch of the keys goes out.</summary>
    public static void AllowNextFetch(TestClock clock) => clock.Offset += TimeSpan.FromSeconds(RetrySeconds);

    public async Task DisposeAsync()
    {
        await Factory.DisposeAsync();
        await Database.DisposeAsync();
        await Provider.DisposeAsync();
        await Link.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class OpenIdProviderHost : ICollectionFixture<OpenIdProviderFixture>
{
    public const string Name = "openid-provider";
}
