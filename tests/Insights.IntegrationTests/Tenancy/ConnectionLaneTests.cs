using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Insights.Database;
using Insights.IntegrationTests.Infrastructure;
using Npgsql;

namespace Insights.IntegrationTests.Tenancy;

/// <summary>
/// Every statement that names a tenant's schema runs on a connection of that tenant's lane, so a PostgreSQL backend
/// only ever meets the tenants of one lane. Seen from Npgsql's own tracing: each statement carries the pool (data
/// source) it ran on and the backend's process id.
/// </summary>
public sealed partial class ConnectionLaneTests : OwnDatabaseTests
{
    private const int Lanes = 4;

    [GeneratedRegex("\"(t_[a-z0-9_]+)\"")]
    private static partial Regex QuotedSchema();

    [Fact]
    public void The_lane_of_a_tenant_is_the_same_everywhere_and_lanes_share_the_fleet_evenly()
    {
        // Fixed values: a node that computed another lane for these would not share the others' backends.
        Assert.Equal(1, TenantDatabases.LaneOf(SchemaName.ForTenant("acme"), 16));
        Assert.Equal(10, TenantDatabases.LaneOf(SchemaName.ForTenant("contoso"), 16));
        Assert.Equal(4, TenantDatabases.LaneOf(SchemaName.ForTenant("totvs-0002"), 16));
        Assert.Equal(7, TenantDatabases.LaneOf(SchemaName.ForTenant("fabrikam"), 16));

        var counts = new int[16];
        for (var i = 0; i < 10_000; i++)
        {
            counts[TenantDatabases.LaneOf(SchemaName.ForTenant("tenant-" + i), 16)]++;
        }

        Assert.All(counts, count => Assert.InRange(count, 625 * 0.85, 625 * 1.15));
    }

    [Fact]
    public async Task Every_statement_of_a_tenant_runs_on_a_connection_of_its_lane()
    {
        var (a, b) = TenantsInDifferentLanes();
        var schemas = new Dictionary<string, SchemaName> { [a] = SchemaName.ForTenant(a), [b] = SchemaName.ForTenant(b) };
        var bySchema = schemas.Values.ToDictionary(s => s.Value, s => s);
        var seen = new ConcurrentBag<(string Schema, string? Pool, long Backend, string Statement)>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Npgsql",
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = activity =>
            {
                if (activity.GetTagItem("db.query.text") is not string text)
                {
                    return;
                }

                foreach (var schema in QuotedSchema().Matches(text).Select(m => m.Groups[1].Value).Distinct())
                {
                    if (bySchema.ContainsKey(schema))
                    {
                        seen.Add((schema, activity.GetTagItem("db.npgsql.data_source") as string,
                            Convert.ToInt64(activity.GetTagItem("db.npgsql.connection_id"), System.Globalization.CultureInfo.InvariantCulture), text));
                    }
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        var folder = Directory.CreateTempSubdirectory("insights-lanes-").FullName;
        try
        {
            var settings = InsightsFactory.Settings(Authority, Database);
            settings["Database:Lanes"] = Lanes.ToString(System.Globalization.CultureInfo.InvariantCulture);
            settings["Database:LanePoolSize"] = "2";
            settings["Ingestion:Interval"] = "1.00:00:00";
            settings["Ingestion:Local:Folder"] = folder;
            await File.WriteAllLinesAsync(Path.Combine(folder, "models.ndjson"), new[] { a, b }.SelectMany(tenant => Enumerable.Range(1, 3).Select(i =>
                JsonSerializer.Serialize(new Dictionary<string, object?>
                {
                    ["tenant_id"] = tenant,
                    ["id"] = $"{tenant}-m{i}",
                    ["insight"] = "CashFlowForecast",
                    ["module"] = "SIGAFIN",
                    ["key"] = "k" + i,
                    ["payload"] = new { value = i },
                    ["version"] = 1,
                    ["updated_at"] = $"2026-11-0{i}T10:00:00Z",
                    ["deleted"] = false,
                }))));

            await using var host = new InsightsFactory(settings);
            using var admin = host.ClientWithToken(Authority.AdminToken());
            (await admin.PutAsJsonAsync("/api/v1/insight-definitions/CashFlowForecast", new { module = "SIGAFIN", online = true })).EnsureSuccessStatusCode();
            foreach (var tenant in new[] { a, b })
            {
                Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/tenants", new { id = tenant, name = tenant })).StatusCode);
            }

            foreach (var tenant in new[] { a, b })
            {
                // The first ingestion (queued by provisioning) brings the three models and their messages.
                using var client = host.ClientWithToken(Authority.TenantToken(tenant));
                var received = new List<JsonElement>();
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while (received.Count < 3)
                {
                    Assert.True(DateTime.UtcNow < deadline, $"Tenant {tenant} received {received.Count} of 3 messages.");
                    var response = await client.PostAsJsonAsync("/api/v1/smartlink/receive", new { max = 10, visibilityTimeoutSeconds = 60, waitSeconds = 1 });
                    received.AddRange((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("messages").EnumerateArray().Select(m => m.Clone()));
                }

                var receipts = received.Select(m => m.GetProperty("receipt").GetString()).ToArray();
                Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/v1/smartlink/ack", new { receipts })).StatusCode);
                Assert.Equal(3, (await client.GetFromJsonAsync<JsonElement>("/api/v1/insight-models")).GetProperty("items").GetArrayLength());
                await client.PostAsJsonAsync("/api/v1/online-insights", new { insight = "CashFlowForecast", key = "k1" });
                Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/api/v1/tenants/{tenant}/usage")).StatusCode);
                Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/api/v1/tenants/{tenant}/messages")).StatusCode);
            }

            Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/tenants/{b}")).StatusCode);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }

        var statements = seen.ToList();
        foreach (var (tenant, schema) in schemas)
        {
            var lane = TenantDatabases.LaneName("insights", TenantDatabases.LaneOf(schema, Lanes));
            var own = statements.Where(s => s.Schema == schema.Value).ToList();
            Assert.True(own.Count >= 10, $"Only {own.Count} statements of tenant {tenant} were seen.");
            var astray = own.Where(s => s.Pool != lane).ToList();
            Assert.True(astray.Count == 0, $"Statements of tenant {tenant} ran outside lane {lane}: "
                + string.Join("; ", astray.Take(5).Select(s => $"[{s.Pool}] {s.Statement[..Math.Min(120, s.Statement.Length)]}")));
        }

        // And from PostgreSQL's side: no backend served both tenants.
        var backendsA = statements.Where(s => s.Schema == schemas[a].Value).Select(s => s.Backend).ToHashSet();
        var backendsB = statements.Where(s => s.Schema == schemas[b].Value).Select(s => s.Backend).ToHashSet();
        Assert.Empty(backendsA.Intersect(backendsB));
    }

    /// <summary>Two new tenant ids whose lanes differ.</summary>
    private static (string A, string B) TenantsInDifferentLanes()
    {
        var a = InsightsFixture.NewTenantId("ln");
        while (true)
        {
            var b = InsightsFixture.NewTenantId("ln");
            if (TenantDatabases.LaneOf(SchemaName.ForTenant(a), Lanes) != TenantDatabases.LaneOf(SchemaName.ForTenant(b), Lanes))
            {
                return (a, b);
            }
        }
    }
}
