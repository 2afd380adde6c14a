using System.Net.Http.Headers;
using System.Net.Http.Json;
using MassTransit;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Insights.IntegrationTests.Infrastructure;

/// <summary>The real host, configured through its settings (as an operator would), on the tests' services.</summary>
public sealed class InsightsFactory(IReadOnlyDictionary<string, string?> settings, string environment = "Testing", Action<IServiceCollection>? services = null)
    : WebApplicationFactory<Program>
{
    public static Dictionary<string, string?> Settings(TestAuthority authority, TestDatabase database, TestVirtualHost? virtualHost = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Insights"] = database.ConnectionString,
            ["Authentication:Authority"] = authority.Issuer,
            ["Authentication:RequireHttpsMetadata"] = "false",
            ["Bus:Transport"] = "InMemory",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        if (virtualHost is not null)
        {
            settings["Bus:Transport"] = "RabbitMq";
            settings["Bus:RabbitMq:Host"] = virtualHost.Amqp.Host;
            settings["Bus:RabbitMq:Port"] = virtualHost.Amqp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            settings["Bus:RabbitMq:VirtualHost"] = virtualHost.Name;
            settings["Bus:RabbitMq:Username"] = virtualHost.Username;
            settings["Bus:RabbitMq:Password"] = virtualHost.Password;
        }

        return settings;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment(environment);
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value ?? "");
        }

        if (services is not null)
        {
            builder.ConfigureServices(services);
        }
    }

    public HttpClient ClientWithToken(string? token)
    {
        var client = CreateClient();
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }
}

/// <summary>
/// One host for a collection of tests: its own database (the catalog and the <c>main</c> tenant store), a second tenant
/// store on the other PostgreSQL server (<c>store2</c>), its own RabbitMQ virtual host, the test authority, and an admin
/// client. Tests create their own tenants rather than share dirty state.
/// </summary>
public sealed class InsightsFixture : IAsyncLifetime
{
    /// <summary>The name of the second tenant store, on the tests' second PostgreSQL server.</summary>
    public const string SecondStore = "store2";

    public TestAuthority Authority { get; private set; } = null!;
    public TestDatabase Database { get; private set; } = null!;
    public TestDatabase Store2 { get; private set; } = null!;
    public TestVirtualHost VirtualHost { get; private set; } = null!;
    public InsightsFactory Factory { get; private set; } = null!;
    public HttpClient Admin { get; private set; } = null!;

    /// <summary>The database of a tenant store: <c>main</c> (the catalog's) or <see cref="SecondStore"/>.</summary>
    public TestDatabase StoreDatabase(string store) => store == SecondStore ? Store2 : Database;

    public async Task InitializeAsync()
    {
        Authority = await TestAuthority.StartAsync();
        Database = await TestDatabase.CreateAsync();
        Store2 = await TestDatabase.CreateAsync(TestServices.StorePostgres());
        VirtualHost = await TestVirtualHost.CreateAsync();
        var settings = InsightsFactory.Settings(Authority, Database, VirtualHost);
        settings["Stores:" + SecondStore] = Store2.ConnectionString;
        // Small enough that dead-lettering after repeated deliveries is quick to show.
        settings["SmartLink:MaxDeliveries"] = "3";
        Factory = new InsightsFactory(settings);
        Admin = Factory.ClientWithToken(Authority.AdminToken());
    }

    public HttpClient TenantClient(string tenantId) => Factory.ClientWithToken(Authority.TenantToken(tenantId));

    public static string NewTenantId(string prefix = "t") => prefix + "-" + Guid.NewGuid().ToString("N")[..10];

    /// <summary>Provisions a new tenant through the API on <paramref name="store"/> and returns its id.</summary>
    public async Task<string> CreateTenantAsync(string? id = null, string store = "main")
    {
        id ??= NewTenantId();
        var response = await Admin.PostAsJsonAsync("/api/v1/tenants", new { id, name = "Tenant " + id, store });
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"Provisioning {id} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }

        return id;
    }

    public async Task DisposeAsync()
    {
        Admin.Dispose();
        await Factory.DisposeAsync();
        await VirtualHost.DisposeAsync();
        await Store2.DisposeAsync();
        await Database.DisposeAsync();
        await Authority.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class SharedHost : ICollectionFixture<InsightsFixture>
{
    public const string Name = "host";
}
