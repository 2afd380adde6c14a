using System.Net.Http.Json;
using System.Text.Json;
using Google.Apis.Auth.OAuth2;
using Insights.BigQuery;
using Insights.Ingestion;
using Insights.IntegrationTests.Fakes;
using Insights.IntegrationTests.Infrastructure;
using Insights.IntegrationTests.SmartLink;
using Microsoft.Extensions.DependencyInjection;

namespace Insights.IntegrationTests.Ingestion;

/// <summary>
/// A sweep reading by arrival (Ingestion:SweepReadBy = Arrival) reads the rows that reached the source since its last
/// read, whatever their updated_at: a row landing weeks late arrives by the next sweep, from BigQuery's change history
/// (the fake's commit times) and from a new file of the Local source. Reading by updated_at, it never would.
/// </summary>
public sealed class SweepByArrivalTests : IAsyncLifetime
{
    private const string Table = "carol-prod.insights.insight_models";

    private TestAuthority authority = null!;
    private TestDatabase database = null!;
    private FakeBigQuery fake = null!;
    private string folder = null!;

    // Started by each test, disposed in DisposeAsync.
    private InsightsFactory? Host { get; set; }
    private HttpClient Admin { get; set; } = null!;

    public async Task InitializeAsync()
    {
        authority = await TestAuthority.StartAsync();
        database = await TestDatabase.CreateAsync();
        fake = await FakeBigQuery.StartAsync();
        folder = Directory.CreateTempSubdirectory("insights-arrival-").FullName;
    }

    public async Task DisposeAsync()
    {
        if (Host is not null)
        {
            Admin.Dispose();
            await Host.DisposeAsync();
        }

        await fake.DisposeAsync();
        await database.DisposeAsync();
        await authority.DisposeAsync();
        Directory.Delete(folder, recursive: true);
    }

    private async Task StartAsync(string source, string readBy)
    {
        var settings = InsightsFactory.Settings(authority, database);
        settings["Ingestion:Source"] = source;
        settings["Ingestion:SweepReadBy"] = readBy;
        settings["Ingestion:Local:Folder"] = folder;
        settings["Ingestion:BigQuery:Table"] = Table;
        settings["Ingestion:Interval"] = "1.00:00:00";
        // No scheduler: the tests start each sweep.
        settings["Roles"] = "api,worker";
        settings["BigQuery:BaseUrl"] = fake.BaseUrl;
        settings["BigQuery:ProjectId"] = "carol-prod";
        settings["BigQuery:Retry:InitialDelayMs"] = "1";
        settings["BigQuery:Retry:MaxDelayMs"] = "5";
        settings["BigQuery:Retry:DeadlineSeconds"] = "10";
        Host = new InsightsFactory(settings, services: s =>
            s.AddKeyedSingleton<ITokenAccess>(BigQuerySetup.TokenAccessKey, GoogleCredential.FromAccessToken("carol-token")));
        Admin = Host.ClientWithToken(authority.AdminToken());
        (await Admin.PutAsJsonAsync("/api/v1/insight-definitions/CashFlowForecast", new { module = "SIGAFIN", priority = "normal" })).EnsureSuccessStatusCode();
    }

    /// <summary>A tenant whose first run read the (empty) source to its end: it rides the sweeps.</summary>
    private async Task<string> TenantAsync()
    {
        var tenant = InsightsFixture.NewTenantId("arr");
        (await Admin.PostAsJsonAsync("/api/v1/tenants", new { id = tenant, name = tenant })).EnsureSuccessStatusCode();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var page = await Admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{tenant}/ingestions?limit=1");
            var run = page.GetProperty("items").EnumerateArray().FirstOrDefault();
            if (run.ValueKind == JsonValueKind.Object && run.GetProperty("status").GetString() is not ("queued" or "running"))
            {
                Assert.Equal("succeeded", run.GetProperty("status").GetString());
                Assert.Equal(0, run.GetProperty("rowsRead").GetInt64());
                return tenant;
            }

            Assert.True(DateTime.UtcNow < deadline, "The tenant's first run did not finish.");
            await Task.Delay(50);
        }
    }

    private async Task<JsonElement> SweepAsync()
    {
        var (sweepId, created) = await Host!.Services.GetRequiredService<FleetSweepTrigger>().RequestAsync(CancellationToken.None);
        Assert.True(created);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var page = await Admin.GetFromJsonAsync<JsonElement>("/api/v1/ingestion-sweeps?limit=1");
            var sweep = page.GetProperty("items").EnumerateArray().Single().Clone();
            if (sweep.GetProperty("id").GetGuid() == sweepId && sweep.GetProperty("status").GetString() is not ("queued" or "running"))
            {
                Assert.True(sweep.GetProperty("status").GetString() == "succeeded", sweep.ToString());
                return sweep;
            }

            Assert.True(DateTime.UtcNow < deadline, "The sweep did not end.");
            await Task.Delay(50);
        }
    }

    private async Task<List<string>> ReceivedAsync(string tenant)
    {
        using var client = new QueueClient(null!, tenant, Host!.ClientWithToken(authority.TenantToken(tenant)));
        return [.. (await client.ReceiveAsync(max: 100)).Select(d => d.Message.GetProperty("data").GetProperty("uuid").GetString()!)];
    }

    /// <summary>Older than the look-back (30 min) and the audit's (2 days): a backfill of history.</summary>
    private static SourceModel WeeksOld(string id, long version = 1) => new(
        id, "CashFlowForecast", "SIGAFIN", null, null, null, null, """{"value":1}""", version,
        SourceTime.Truncate(DateTimeOffset.UtcNow.AddDays(-40)), false);

    private static async Task<(DateTimeOffset? Watermark, DateTimeOffset? Arrival)> FleetAsync(TestDatabase database)
    {
        await using var dataSource = database.CreateDataSource();
        await using var command = dataSource.CreateCommand("SELECT watermark, arrival_watermark FROM catalog.ingestion_fleet");
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync()
            ? (reader.IsDBNull(0) ? null : reader.GetFieldValue<DateTimeOffset>(0), reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1))
            : (null, null);
    }

    [Theory]
    [InlineData("Arrival")]
    [InlineData("UpdatedAt")]
    public async Task A_bigquery_row_landing_weeks_late_arrives_by_the_next_sweep_when_read_by_arrival(string readBy)
    {
        await StartAsync("BigQuery", readBy);
        var tenant = await TenantAsync();
        var first = await SweepAsync();
        Assert.Equal(0, first.GetProperty("rowsRead").GetInt64());

        var committed = DateTimeOffset.UtcNow;
        fake.Table.Add(new FakeTableRow(tenant, WeeksOld("late-1")), committed);
        fake.Table.Add(new FakeTableRow(tenant, WeeksOld("late-2")), committed.AddMilliseconds(1));
        var sweep = await SweepAsync();

        var sql = fake.Queries[^1].Json.GetProperty("query").GetString()!;
        if (readBy == "UpdatedAt")
        {
            // As before: the rows' updated_at is older than every look-back, so no sweep reads them.
            Assert.Equal("updated_at", sweep.GetProperty("readBy").GetString());
            Assert.DoesNotContain("APPENDS", sql, StringComparison.Ordinal);
            Assert.Equal(0, sweep.GetProperty("rowsRead").GetInt64());
            Assert.Empty(await ReceivedAsync(tenant));
            return;
        }

        Assert.Equal("arrival", sweep.GetProperty("readBy").GetString());
        Assert.Contains($"APPENDS(TABLE `{Table}`, @since, NULL)", sql, StringComparison.Ordinal);
        Assert.Equal(2, sweep.GetProperty("rowsRead").GetInt64());
        Assert.Equal(2, sweep.GetProperty("rowsChanged").GetInt64());
        Assert.Equal(2, sweep.GetProperty("rowsLateBeyondLookBack").GetInt64());
        Assert.Equal(FakeBigQuery.MinimumBilledBytes, sweep.GetProperty("bytesBilled").GetInt64());
        Assert.True(sweep.GetProperty("note").ValueKind == JsonValueKind.Null);
        Assert.Equal(["late-1", "late-2"], await ReceivedAsync(tenant));
        // The arrival watermark is the newest commit time read, never the rows' updated_at.
        var (_, arrival) = await FleetAsync(database);
        Assert.Equal(SourceTime.Truncate(committed.AddMilliseconds(1)), arrival);

        // Read again from the watermark less the look-back: nothing changes, nothing is sent twice.
        var again = await SweepAsync();
        Assert.Equal(2, again.GetProperty("rowsRead").GetInt64());
        Assert.Equal(0, again.GetProperty("rowsChanged").GetInt64());
    }

    [Fact]
    public async Task A_sweep_whose_arrival_watermark_left_the_time_travel_window_says_so_and_reads_by_updated_at()
    {
        await StartAsync("BigQuery", "Arrival");
        var tenant = await TenantAsync();
        var stale = DateTimeOffset.UtcNow.AddDays(-8);
        await using (var dataSource = database.CreateDataSource())
        {
            await using var command = dataSource.CreateCommand(
                """
                INSERT INTO catalog.ingestion_fleet (watermark, arrival_watermark) VALUES ($1, $1)
                ON CONFLICT (singleton) DO UPDATE SET watermark = $1, arrival_watermark = $1
                """);
            command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = stale });
            await command.ExecuteNonQueryAsync();
        }

        // Within the audit's look-back of the (old) watermark: the fallback reads it.
        fake.Table.Add(new FakeTableRow(tenant, WeeksOld("recent") with { UpdatedAt = SourceTime.Truncate(stale.AddDays(-1)) }));
        var fallback = await SweepAsync();

        Assert.Equal("updated_at", fallback.GetProperty("readBy").GetString());
        Assert.Contains("older than the source's change history", fallback.GetProperty("note").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("APPENDS", fake.Queries[^1].Json.GetProperty("query").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, fallback.GetProperty("rowsChanged").GetInt64());
        Assert.Equal(["recent"], await ReceivedAsync(tenant));
        var (_, arrival) = await FleetAsync(database);
        Assert.True(arrival > DateTimeOffset.UtcNow.AddDays(-1), $"The arrival watermark stayed at {arrival:O}.");

        // The next sweep is back on the change history.
        fake.Table.Add(new FakeTableRow(tenant, WeeksOld("late")));
        var next = await SweepAsync();
        Assert.Equal("arrival", next.GetProperty("readBy").GetString());
        Assert.True(next.GetProperty("note").ValueKind == JsonValueKind.Null);
        Assert.Contains("APPENDS", fake.Queries[^1].Json.GetProperty("query").GetString(), StringComparison.Ordinal);
        Assert.Contains("late", await ReceivedAsync(tenant));
    }

    [Theory]
    [InlineData("Arrival")]
    [InlineData("UpdatedAt")]
    public async Task A_local_file_of_weeks_old_rows_arrives_by_the_next_sweep_when_read_by_arrival(string readBy)
    {
        await StartAsync("Local", readBy);
        var tenant = await TenantAsync();
        var first = await SweepAsync();
        Assert.Equal(0, first.GetProperty("rowsRead").GetInt64());

        var updated = DateTimeOffset.UtcNow.AddDays(-40).ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", System.Globalization.CultureInfo.InvariantCulture);
        await File.WriteAllLinesAsync(Path.Combine(folder, "backfill.ndjson"),
        [
            $$"""{"tenant_id":"{{tenant}}","id":"old-1","insight":"CashFlowForecast","module":"SIGAFIN","payload":{"a":1},"version":1,"updated_at":"{{updated}}"}""",
            $$"""{"tenant_id":"{{tenant}}","id":"old-2","insight":"CashFlowForecast","module":"SIGAFIN","payload":{"a":2},"version":1,"updated_at":"{{updated}}"}""",
        ]);
        var sweep = await SweepAsync();

        if (readBy == "UpdatedAt")
        {
            Assert.Equal(0, sweep.GetProperty("rowsRead").GetInt64());
            Assert.Empty(await ReceivedAsync(tenant));
            return;
        }

        Assert.Equal("arrival", sweep.GetProperty("readBy").GetString());
        Assert.Equal(2, sweep.GetProperty("rowsChanged").GetInt64());
        Assert.Equal(["old-1", "old-2"], await ReceivedAsync(tenant));
        var (_, arrival) = await FleetAsync(database);
        Assert.Equal(SourceTime.Truncate(new DateTimeOffset(File.GetLastWriteTimeUtc(Path.Combine(folder, "backfill.ndjson")), TimeSpan.Zero)), arrival);
    }
}
