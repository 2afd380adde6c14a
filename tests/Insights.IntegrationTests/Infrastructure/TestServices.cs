using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Npgsql;
using Testcontainers.PostgreSql;
using Testcontainers.RabbitMq;

namespace Insights.IntegrationTests.Infrastructure;

/// <summary>
/// The one place that finds the PostgreSQL and RabbitMQ the tests use: <c>INSIGHTS_TEST_POSTGRES</c> and
/// <c>INSIGHTS_TEST_RABBITMQ</c> when set (blank counts as unset), else Testcontainers when a Docker engine answers,
/// else a failure that names the script which starts them.
/// </summary>
public static class TestServices
{
    private const string Hint = "Run the tests with scripts/test.sh: it installs and starts PostgreSQL and RabbitMQ and sets "
        + "INSIGHTS_TEST_POSTGRES and INSIGHTS_TEST_RABBITMQ (or set them yourself, or start a Docker engine for Testcontainers).";

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static string? postgres;
    private static (Uri Amqp, Uri Management)? rabbit;

    /// <summary>
    /// A second PostgreSQL server for tenant stores (<c>INSIGHTS_TEST_POSTGRES_STORE</c>; scripts/test.sh starts a local
    /// cluster for it).
    /// </summary>
    public static string StorePostgres() =>
        Environment.GetEnvironmentVariable("INSIGHTS_TEST_POSTGRES_STORE") is { Length: > 0 } configured
            ? configured
            : throw new InvalidOperationException(
                "No second PostgreSQL server for the tenant store tests: run the tests with scripts/test.sh, which starts one "
                + "and sets INSIGHTS_TEST_POSTGRES_STORE (or set it to a PostgreSQL server other than INSIGHTS_TEST_POSTGRES's).");

    public static async Task<string> PostgresAsync()
    {
        await Gate.WaitAsync();
        try
        {
            if (postgres is not null)
            {
                return postgres;
            }

            var configured = Environment.GetEnvironmentVariable("INSIGHTS_TEST_POSTGRES");
            if (!string.IsNullOrWhiteSpace(configured))
            {
                return postgres = configured;
            }

            try
            {
                var container = new PostgreSqlBuilder("postgres:16").Build();
                await container.StartAsync();
                return postgres = container.GetConnectionString();
            }
            catch (Exception e)
            {
                throw new InvalidOperationException("No PostgreSQL for the tests. " + Hint, e);
            }
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>
    /// The Prometheus server binary: <c>INSIGHTS_TEST_PROMETHEUS</c> when set, else <c>prometheus</c> on the PATH, else a
    /// failure that names the script which installs it.
    /// </summary>
    public static string Prometheus()
    {
        var configured = Environment.GetEnvironmentVariable("INSIGHTS_TEST_PROMETHEUS");
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return File.Exists(configured)
                ? configured
                : throw new InvalidOperationException($"INSIGHTS_TEST_PROMETHEUS names '{configured}', which does not exist. " + PrometheusHint);
        }

        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, "prometheus");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("No Prometheus for the tests. " + PrometheusHint);
    }

    private const string PrometheusHint = "Run the tests with scripts/test.sh: it installs Debian's prometheus package and sets "
        + "INSIGHTS_TEST_PROMETHEUS (or install it and set INSIGHTS_TEST_PROMETHEUS to the prometheus binary yourself).";

    public static async Task<(Uri Amqp, Uri Management)> RabbitMqAsync()
    {
        await Gate.WaitAsync();
        try
        {
            if (rabbit is not null)
            {
                return rabbit.Value;
            }

            var configured = Environment.GetEnvironmentVariable("INSIGHTS_TEST_RABBITMQ");
            if (!string.IsNullOrWhiteSpace(configured))
            {
                var management = Environment.GetEnvironmentVariable("INSIGHTS_TEST_RABBITMQ_MANAGEMENT");
                var amqp = new Uri(configured);
                var managementUri = string.IsNullOrWhiteSpace(management)
                    ? new Uri($"http://{amqp.UserInfo}@{amqp.Host}:15672")
                    : new Uri(management);
                return (rabbit = (amqp, managementUri)).Value;
            }

            try
            {
                var container = new RabbitMqBuilder("rabbitmq:3.13-management").WithPortBinding(15672, true).Build();
                await container.StartAsync();
                var amqp = new Uri(container.GetConnectionString());
                var management = new Uri($"http://{amqp.UserInfo}@{container.Hostname}:{container.GetMappedPublicPort(15672)}");
                return (rabbit = (amqp, management)).Value;
            }
            catch (Exception e)
            {
                throw new InvalidOperationException("No RabbitMQ for the tests. " + Hint, e);
            }
        }
        finally
        {
            Gate.Release();
        }
    }
}

/// <summary>A database of its own for one fixture, dropped at the end.</summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private readonly string adminConnectionString;

    private TestDatabase(string adminConnectionString, string name, string connectionString)
    {
        this.adminConnectionString = adminConnectionString;
        Name = name;
        ConnectionString = connectionString;
    }

    public string Name { get; }

    public string ConnectionString { get; }

    /// <summary>A database of its own on the tests' PostgreSQL, or on the server of <paramref name="server"/>.</summary>
    public static async Task<TestDatabase> CreateAsync(string? server = null)
    {
        var admin = server ?? await TestServices.PostgresAsync();
        var name = "insights_test_" + Guid.NewGuid().ToString("N")[..12];
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await create.ExecuteNonQueryAsync();
        }

        var builder = new NpgsqlConnectionStringBuilder(admin) { Database = name, MaxPoolSize = 30 };
        return new TestDatabase(admin, name, builder.ConnectionString);
    }

    public NpgsqlDataSource CreateDataSource() => NpgsqlDataSource.Create(ConnectionString);

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(adminConnectionString);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }
}

/// <summary>A RabbitMQ virtual host of its own for one fixture, so hosts of different fixtures never share queues.</summary>
public sealed class TestVirtualHost : IAsyncDisposable
{
    private readonly HttpClient management;

    private TestVirtualHost(HttpClient management, Uri amqp, string name)
    {
        this.management = management;
        Amqp = amqp;
        Name = name;
    }

    public Uri Amqp { get; }

    public string Name { get; }

    public string Username => Uri.UnescapeDataString(Amqp.UserInfo.Split(':')[0]);

    public string Password => Uri.UnescapeDataString(Amqp.UserInfo.Split(':', 2) is [_, var p] ? p : "guest");

    public static async Task<TestVirtualHost> CreateAsync()
    {
        var (amqp, managementUri) = await TestServices.RabbitMqAsync();
        var client = new HttpClient { BaseAddress = new Uri($"{managementUri.Scheme}://{managementUri.Host}:{managementUri.Port}/") };
        var credentials = Uri.UnescapeDataString(managementUri.UserInfo);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials)));
        var name = "insights-test-" + Guid.NewGuid().ToString("N")[..12];
        var user = Uri.UnescapeDataString(credentials.Split(':')[0]);
        (await client.PutAsync($"api/vhosts/{name}", null)).EnsureSuccessStatusCode();
        (await client.PutAsync($"api/permissions/{name}/{user}",
            new StringContent("""{"configure":".*","write":".*","read":".*"}""", Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
        return new TestVirtualHost(client, amqp, name);
    }

    /// <summary>The virtual host's queues and bindings as the broker's management API shows them, for a failure message.</summary>
    public async Task<string> DescribeAsync()
    {
        var vhost = Uri.EscapeDataString(Name);
        var queues = await management.GetStringAsync($"api/queues/{vhost}?columns=name,durable,auto_delete,exclusive,arguments,messages,messages_ready,messages_unacknowledged,consumers,message_stats.publish,message_stats.deliver_get");
        var bindings = await management.GetStringAsync($"api/bindings/{vhost}?columns=source,destination,destination_type,routing_key");
        return $"queues: {queues} bindings: {bindings}";
    }

    /// <summary>The names of the virtual host's queues.</summary>
    public async Task<List<string>> QueueNamesAsync()
    {
        var queues = await management.GetFromJsonAsync<JsonElement>($"api/queues/{Uri.EscapeDataString(Name)}?columns=name");
        return queues.EnumerateArray().Select(q => q.GetProperty("name").GetString()!).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await management.DeleteAsync($"api/vhosts/{Name}");
        }
        finally
        {
            management.Dispose();
        }
    }
}
