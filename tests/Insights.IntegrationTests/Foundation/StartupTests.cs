using System.Net;
using System.Security.Claims;
using Insights.Auth;
using Insights.IntegrationTests.Infrastructure;
using Insights.Messaging;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Insights.IntegrationTests.Foundation;

/// <summary>Hosts of their own: configuration, environments, readiness without PostgreSQL, transports.</summary>
public sealed class StartupTests : OwnDatabaseTests
{
    private Dictionary<string, string?> Settings() => InsightsFactory.Settings(Authority, Database);

    private static Exception StartFails(InsightsFactory factory)
    {
        using (factory)
        {
            return Assert.ThrowsAny<Exception>(() => factory.CreateClient());
        }
    }

    [Theory]
    [InlineData("Bus:Transport", "Kafka", "Bus:Transport")]
    [InlineData("Bus:PrefetchCount", "0", "Bus:PrefetchCount")]
    [InlineData("Http:MaxRequestBodyBytes", "10", "MaxRequestBodyBytes")]
    [InlineData("Authentication:Authority", "not a url", "Authentication:Authority")]
    [InlineData("Authentication:Audience", "", "Authentication:Audience")]
    [InlineData("ConnectionStrings:Insights", "Hostess=nowhere", "ConnectionStrings:Insights")]
    [InlineData("Roles", "api,cook", "Roles")]
    [InlineData("Stores:Store2", "Host=127.0.0.1", "Stores:Store2")]
    [InlineData("Stores:main", "Host=127.0.0.1", "Stores:main")]
    [InlineData("Stores:store2", "Hostess=nowhere", "Stores:store2")]
    [InlineData("Stores:store2", "Port=5433", "Stores:store2")]
    [InlineData("OnlineInsights:Timeout", "00:00:00", "OnlineInsights:Timeout")]
    [InlineData("OnlineInsights:ConcurrentMessageLimit", "0", "OnlineInsights:ConcurrentMessageLimit")]
    [InlineData("Authentication:MetadataRetrySeconds", "0", "Authentication:MetadataRetrySeconds")]
    [InlineData("OpenApi:Scopes", "openid  insights", "OpenApi:Scopes")]
    public void A_wrong_setting_stops_the_host_naming_the_setting(string setting, string value, string named)
    {
        var settings = Settings();
        settings[setting] = value;
        var error = StartFails(new InsightsFactory(settings));
        Assert.Contains(named, Flatten(error), StringComparison.Ordinal);
    }

    [Fact]
    public void Authority_is_required_outside_development()
    {
        var settings = Settings();
        settings["Authentication:Authority"] = "";
        var error = StartFails(new InsightsFactory(settings, environment: "Production"));
        Assert.Contains("Authentication:Authority", Flatten(error), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readiness_is_503_when_postgres_is_unreachable()
    {
        var settings = Settings();
        settings["ConnectionStrings:Insights"] = "Host=127.0.0.1;Port=1;Database=none;Username=none;Password=none;Timeout=2";
        settings["Database:MigrateOnStart"] = "false";
        await using var factory = new InsightsFactory(settings);
        using var client = factory.CreateClient();
        var response = await client.GetAsync("/health/ready");
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("\"postgres\":{\"status\":\"Unhealthy\"", text, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
    }

    [Fact]
    public async Task A_development_token_is_refused_outside_development()
    {
        var keyPath = Path.Combine(Path.GetTempPath(), "insights-test-" + Guid.NewGuid().ToString("N") + ".pem");
        try
        {
            var settings = Settings();
            settings["Authentication:DevelopmentKeyPath"] = keyPath;
            var token = MintDevelopmentAdminToken(keyPath);

            await using (var production = new InsightsFactory(settings, environment: "Production"))
            {
                using var client = production.ClientWithToken(token);
                await Problem.AssertAsync(await client.GetAsync("/api/v1/tenants"), HttpStatusCode.Unauthorized);
            }

            await using (var development = new InsightsFactory(settings, environment: "Development"))
            {
                using var client = development.ClientWithToken(token);
                Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/tenants")).StatusCode);
                // The real authority still works beside the development key.
                using var real = development.ClientWithToken(Authority.AdminToken());
                Assert.Equal(HttpStatusCode.OK, (await real.GetAsync("/api/v1/tenants")).StatusCode);
            }
        }
        finally
        {
            File.Delete(keyPath);
        }
    }

    [Fact]
    public async Task Swagger_is_served_outside_development_only_when_enabled_and_takes_a_pasted_token_only_in_development()
    {
        var keyPath = Path.Combine(Path.GetTempPath(), "insights-test-" + Guid.NewGuid().ToString("N") + ".pem");
        try
        {
            var settings = Settings();
            settings["OpenApi:Enabled"] = "false";
            settings["Authentication:DevelopmentKeyPath"] = keyPath;
            await using (var production = new InsightsFactory(settings, environment: "Production"))
            {
                using var client = production.CreateClient();
                Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/swagger/v1/swagger.json")).StatusCode);
                Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/swagger/index.html")).StatusCode);
            }

            await using (var development = new InsightsFactory(settings, environment: "Development"))
            {
                using var client = development.CreateClient();
                var document = System.Text.Json.JsonDocument.Parse(await client.GetStringAsync("/swagger/v1/swagger.json")).RootElement;
                var schemes = document.GetProperty("components").GetProperty("securitySchemes");
                Assert.Equal("oauth2", schemes.GetProperty("FluigIdentity").GetProperty("type").GetString());
                Assert.Equal("bearer", schemes.GetProperty("Bearer").GetProperty("scheme").GetString());
                Assert.Equal(2, document.GetProperty("security").GetArrayLength());
            }
        }
        finally
        {
            File.Delete(keyPath);
        }
    }

    [Fact]
    public async Task Request_reply_works_over_the_in_memory_bus()
    {
        await using var factory = new InsightsFactory(Settings());
        factory.CreateClient().Dispose();
        var client = factory.Services.GetRequiredService<IRequestClient<Ping>>();
        var pong = await client.GetResponse<Pong>(new Ping(DateTimeOffset.UtcNow));
        Assert.False(string.IsNullOrEmpty(pong.Message.Node));
    }

    [Fact]
    public async Task Request_reply_works_between_an_api_host_and_a_worker_host_over_rabbitmq()
    {
        await using var virtualHost = await TestVirtualHost.CreateAsync();
        var apiSettings = InsightsFactory.Settings(Authority, Database, virtualHost);
        apiSettings["Roles"] = "api";
        var workerSettings = InsightsFactory.Settings(Authority, Database, virtualHost);
        workerSettings["Roles"] = "worker";
        await using var worker = new InsightsFactory(workerSettings);
        await using var api = new InsightsFactory(apiSettings);
        worker.CreateClient().Dispose();
        using var http = api.ClientWithToken(Authority.AdminToken());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/ready")).StatusCode);

        var client = api.Services.GetRequiredService<IRequestClient<Ping>>();
        var pong = await client.GetResponse<Pong>(new Ping(DateTimeOffset.UtcNow), timeout: RequestTimeout.After(s: 15));
        Assert.False(string.IsNullOrEmpty(pong.Message.Node));
    }

    private static string MintDevelopmentAdminToken(string keyPath)
    {
        var options = new FluigIdentityOptions();
        var key = DevelopmentKey.LoadOrCreate(keyPath);
        return DevelopmentKey.Mint(key, options, [new Claim("sub", "dev"), new Claim(options.RoleClaim, options.AdminRole)], TimeSpan.FromMinutes(5));
    }

    private static string Flatten(Exception error)
    {
        var messages = new List<string>();
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            messages.Add(e.Message);
            if (e is OptionsValidationException validation)
            {
                messages.AddRange(validation.Failures);
            }

            if (e is AggregateException aggregate)
            {
                messages.AddRange(aggregate.InnerExceptions.Select(Flatten));
            }
        }

        return string.Join(" | ", messages);
    }
}
