using System.Globalization;
using System.Text.Json;
using Google.Apis.Auth.OAuth2;
using Insights.BigQuery;
using Insights.Ingestion;
using Insights.IntegrationTests.Fakes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using static Insights.IntegrationTests.Fakes.FakeBigQuery;

namespace Insights.IntegrationTests.BigQuery;

/// <summary>The BigQuery insight source end to end against the fake's in-memory source table.</summary>
public sealed class BigQueryInsightSourceTests : IAsyncLifetime
{
    private const string Table = "carol-prod.insights.insight_models";
    private static readonly DateTimeOffset T0 = new(2026, 11, 23, 9, 0, 0, TimeSpan.Zero);
    // One client for every test, as the host's factory would share handlers.
    private static readonly HttpClient Http = new();
    private FakeBigQuery fake = null!;

    public async Task InitializeAsync()
    {
        fake = await FakeBigQuery.StartAsync();
        // Two tenants interleaved; several models share a timestamp, and ids are compared ordinally ("m-10" < "m-2").
        for (var i = 1; i <= 23; i++)
        {
            fake.Table.Add(new FakeTableRow("acme", Model($"m-{i}", T0.AddSeconds(i / 3).AddTicks(i * 10), version: i)));
            if (i % 2 == 0)
            {
                fake.Table.Add(new FakeTableRow("globex", Model($"m-{i}", T0.AddSeconds(i / 3), version: 100 + i)));
            }
        }
    }

    public async Task DisposeAsync()
    {
        await fake.DisposeAsync();
    }

    private static SourceModel Model(string id, DateTimeOffset updatedAt, long version, bool deleted = false) => new(
        id,
        "CashFlowForecast",
        "SIGAFIN",
        "01",
        "E1_FILIAL = '01'",
        new DateOnly(2026, 11, 1),
        id.EndsWith('3') ? null : new DateOnly(2026, 11, 30),
        $$"""{"moeda":"BRL","saldo":{{version}}.5,"alertas":["Saldo negativo em 2026-11-18"]}""",
        version,
        updatedAt,
        deleted);

    private BigQueryInsightSource Source(int batchSize, string? template = null)
    {
        var client = new BigQueryClient(
            Http,
            GoogleCredential.FromAccessToken("source-token"),
            Options.Create(new BigQueryOptions { BaseUrl = fake.BaseUrl, ProjectId = "carol-prod", Retry = new() { InitialDelayMs = 1, MaxDelayMs = 2 } }),
            NullLogger<BigQueryClient>.Instance);
        var options = new InsightSourceOptions
        {
            Source = InsightSourceKind.BigQuery,
            BigQuery = new BigQuerySourceOptions { Table = Table, BatchSize = batchSize, QueryTemplate = template },
        };
        return new BigQueryInsightSource(client, Options.Create(options), NullLogger<BigQueryInsightSource>.Instance);
    }

    private List<SourceModel> Expected(string tenant, SourceCursor? after) =>
    [
        .. fake.Table.Where(r => r.TenantId == tenant).Select(r => r.Model)
            .Where(m => after is null || after.Precedes(m.UpdatedAt, m.Id))
            .OrderBy(m => m.UpdatedAt).ThenBy(m => m.Id, StringComparer.Ordinal),
    ];

    private static async Task<List<SourcePage>> ReadAll(IInsightSource source, string tenant, SourceCursor? after, int pageSize)
    {
        var pages = new List<SourcePage>();
        await foreach (var page in source.ReadAsync(tenant, after, pageSize, CancellationToken.None))
        {
            pages.Add(page);
        }

        return pages;
    }

    private static string Parameter(RecordedRequest request, string name) =>
        request.Json.GetProperty("queryParameters").EnumerateArray()
            .Single(p => p.GetProperty("name").GetString() == name)
            .GetProperty("parameterValue").GetProperty("value").GetString()!;

    [Fact]
    public async Task Only_the_tenants_models_after_the_cursor_come_in_order_across_several_queries_and_pages()
    {
        var all = Expected("acme", null);
        var cursor = SourceCursor.After(all[2]);
        var expected = Expected("acme", cursor);
        Assert.Equal(20, expected.Count);

        var pages = await ReadAll(Source(batchSize: 5), "acme", cursor, pageSize: 2);

        Assert.Equal(expected, pages.SelectMany(p => p.Models));
        Assert.All(pages, p => Assert.InRange(p.Models.Count, 0, 2));

        // 20 rows in batches of 5: four full queries, then one that finds nothing left.
        var queries = fake.Queries;
        Assert.Equal(5, queries.Count);
        Assert.Equal(cursor.Id, Parameter(queries[0], "afterId"));
        for (var i = 0; i < queries.Count; i++)
        {
            var sql = queries[i].Json.GetProperty("query").GetString()!;
            Assert.DoesNotContain("acme", sql, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("@tenantId", sql, StringComparison.Ordinal);
            Assert.Equal("acme", Parameter(queries[i], "tenantId"));
            Assert.Equal("5", Parameter(queries[i], "limit"));
            Assert.Equal(2, queries[i].Json.GetProperty("maxResults").GetInt32());
            Assert.Equal("acme", queries[i].Json.GetProperty("labels").GetProperty("tenant").GetString());
            Assert.Equal("Bearer source-token", queries[i].Header("Authorization"));
            if (i > 0)
            {
                // Each query resumes after the last row of the one before.
                var last = expected[(i * 5) - 1];
                Assert.Equal(last.Id, Parameter(queries[i], "afterId"));
                Assert.Equal(
                    last.UpdatedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture) + "+00:00",
                    Parameter(queries[i], "afterUpdatedAt"));
            }
        }
    }

    [Fact]
    public async Task The_tenant_id_travels_only_as_a_parameter()
    {
        const string tenant = "o-brien_01";
        fake.Table.Add(new FakeTableRow(tenant, Model("x-1", T0, 1)));

        var pages = await ReadAll(Source(batchSize: 100), tenant, null, pageSize: 10);

        Assert.Equal(["x-1"], pages.SelectMany(p => p.Models).Select(m => m.Id));
        var request = Assert.Single(fake.Queries);
        Assert.DoesNotContain(tenant, request.Json.GetProperty("query").GetString()!, StringComparison.Ordinal);
        Assert.Equal(tenant, Parameter(request, "tenantId"));
        Assert.Equal(JsonValueKind.String, request.Json.GetProperty("queryParameters")[0].GetProperty("parameterValue").GetProperty("value").ValueKind);
    }

    [Fact]
    public async Task Without_a_cursor_every_model_of_the_tenant_is_read_from_the_beginning()
    {
        var pages = await ReadAll(Source(batchSize: 50_000), "globex", null, pageSize: 4);

        Assert.Equal(Expected("globex", null), pages.SelectMany(p => p.Models));
        var request = Assert.Single(fake.Queries);
        Assert.Equal("0001-01-01 00:00:00.000000+00:00", Parameter(request, "afterUpdatedAt"));
        Assert.Equal("", Parameter(request, "afterId"));
        Assert.Equal("50000", Parameter(request, "limit"));
        Assert.Equal(4, request.Json.GetProperty("maxResults").GetInt32());
    }

    [Fact]
    public async Task Bytes_of_each_query_are_counted_on_its_first_page_only()
    {
        fake.TableBytesProcessed = 4_000_000;
        fake.TableBytesBilled = 12_582_912;

        var pages = await ReadAll(Source(batchSize: 5), "acme", null, pageSize: 2);

        // 23 rows: queries of 5, 5, 5, 5 and 3 rows, each read in pages of 2, 2 and 1 (or 2 and 1).
        Assert.Equal([2, 2, 1, 2, 2, 1, 2, 2, 1, 2, 2, 1, 2, 1], pages.Select(p => p.Models.Count));
        Assert.Equal(5 * 12_582_912L, pages.Sum(p => p.BytesBilled));
        Assert.Equal(5 * 4_000_000L, pages.Sum(p => p.BytesProcessed));
        Assert.Equal([true, false, false, true, false, false, true, false, false, true, false, false, true, false], pages.Select(p => p.BytesBilled > 0));
    }

    [Fact]
    public async Task A_tenant_with_nothing_new_gets_one_empty_page_with_the_query_bytes()
    {
        var page = Assert.Single(await ReadAll(Source(batchSize: 5), "nobody", null, pageSize: 2));

        // Billed as BigQuery does: nothing scanned for the tenant, still the 10 MB minimum of a query.
        Assert.Empty(page.Models);
        Assert.Equal(FakeBigQuery.MinimumBilledBytes, page.BytesBilled);
        Assert.Equal(0, page.BytesProcessed);
    }

    [Fact]
    public async Task Timestamps_keep_microseconds_and_deleted_and_null_columns_come_through()
    {
        var at = new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero).AddTicks(1_234_567);
        fake.Table.Add(new FakeTableRow("solo", Model("gone", at, 7, deleted: true) with { Key = null, Filter = null, DateFrom = null }));

        var model = Assert.Single((await ReadAll(Source(batchSize: 5), "solo", null, pageSize: 2)).SelectMany(p => p.Models));

        Assert.Equal(at.AddTicks(-7), model.UpdatedAt);
        Assert.True(model.Deleted);
        Assert.Null(model.Key);
        Assert.Null(model.Filter);
        Assert.Null(model.DateFrom);
        Assert.Equal(new DateOnly(2026, 11, 30), model.DateTo);
        Assert.Equal(7, model.Version);
    }

    [Fact]
    public async Task The_default_query_reads_the_configured_table_and_a_template_can_replace_it()
    {
        var source = Source(batchSize: 5);
        Assert.Contains($"FROM `{Table}`", source.Sql, StringComparison.Ordinal);
        Assert.Contains("ORDER BY updated_at, id", source.Sql, StringComparison.Ordinal);
        foreach (var parameter in new[] { "@tenantId", "@afterUpdatedAt", "@afterId", "@limit" })
        {
            Assert.Contains(parameter, source.Sql, StringComparison.Ordinal);
        }

        const string template = "SELECT * FROM `{table}` WHERE tenant_id = @tenantId AND updated_at > @afterUpdatedAt ORDER BY updated_at, id LIMIT @limit";
        await ReadAll(Source(batchSize: 5, template), "globex", null, pageSize: 2);
        Assert.Equal(template.Replace("{table}", Table, StringComparison.Ordinal), fake.Queries[0].Json.GetProperty("query").GetString());
    }

    [Fact]
    public async Task A_row_that_does_not_fit_the_model_fails_naming_the_column()
    {
        fake.OnQuery = _ => new FakeResult
        {
            Fields = TableFields(),
            Rows = [Row("m-1", "CashFlowForecast", "SIGAFIN", null, null, null, null, "{}", null, Micros(T0), "false")],
        };

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ReadAll(Source(batchSize: 5), "acme", null, pageSize: 2));

        Assert.Contains("column 'version' is null", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_template_that_ignores_the_cursor_fails_instead_of_looping()
    {
        const string template = "SELECT * FROM `{table}` WHERE tenant_id = @tenantId ORDER BY updated_at, id LIMIT @limit";
        fake.OnQuery = request => new FakeResult
        {
            Fields = TableFields(),
            Rows = [.. Enumerable.Range(1, 2).Select(i => Row($"m-{i}", "I", "M", null, null, null, null, "{}", "1", Micros(T0.AddSeconds(i)), "false"))],
        };

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ReadAll(Source(batchSize: 2, template), "acme", null, pageSize: 2));

        Assert.Contains("Ingestion:BigQuery:QueryTemplate", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, fake.Queries.Count);
    }

    [Fact]
    public async Task The_host_registers_the_bigquery_source_when_the_setting_selects_it()
    {
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Ingestion:Source"] = "BigQuery",
            ["Ingestion:BigQuery:Table"] = Table,
            ["BigQuery:BaseUrl"] = fake.BaseUrl,
            ["BigQuery:ProjectId"] = "carol-prod",
            ["BigQuery:PageSize"] = "3",
        });
        builder.AddInsightSource();
        builder.Services.AddKeyedSingleton<ITokenAccess>(BigQuerySetup.TokenAccessKey, GoogleCredential.FromAccessToken("host-token"));
        await using var app = builder.Build();
        await app.StartAsync();

        var source = app.Services.GetRequiredService<IInsightSource>();
        var pages = await ReadAll(source, "globex", null, pageSize: 3);

        Assert.IsType<BigQueryInsightSource>(source);
        Assert.Equal(Expected("globex", null), pages.SelectMany(p => p.Models));
        Assert.All(fake.Requests, r => Assert.Equal("Bearer host-token", r.Header("Authorization")));
        await app.StopAsync();
    }

    [Fact]
    public async Task A_read_by_arrival_returns_what_was_committed_since_whatever_its_updated_at_and_bills_the_changed_rows()
    {
        // The constructor's rows were committed now; these two were appended later, one of them with a weeks-old updated_at.
        var committed = SourceTime.Truncate(DateTimeOffset.UtcNow.AddMinutes(5));
        fake.Table.Add(new FakeTableRow("acme", Model("late", T0.AddDays(-40), 1)), committed);
        fake.Table.Add(new FakeTableRow("globex", Model("fresh", T0, 2)), committed.AddSeconds(1));
        fake.Table.Add(new FakeTableRow("acme", Model("late", T0.AddDays(-40), 3)), committed.AddSeconds(1));

        var rows = new List<FleetRow>();
        await foreach (var page in Source(batchSize: 50).ReadFleetByArrivalAsync(committed, pageSize: 2, CancellationToken.None))
        {
            Assert.InRange(page.Rows.Count, 0, 2);
            rows.AddRange(page.Rows);
        }

        Assert.Equal([("acme", "late", 1L), ("acme", "late", 3L), ("globex", "fresh", 2L)], rows.Select(r => (r.TenantId, r.Model.Id, r.Model.Version)));
        Assert.Equal([committed, committed.AddSeconds(1), committed.AddSeconds(1)], rows.Select(r => r.ArrivedAt!.Value));
        Assert.Equal(T0.AddDays(-40), rows[0].Model.UpdatedAt);
        var query = fake.Queries[^1].Json;
        Assert.Contains("APPENDS(TABLE `" + Table + "`, @since, NULL)", query.GetProperty("query").GetString(), StringComparison.Ordinal);
        Assert.Equal(committed.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture) + "+00:00", Parameter(fake.Queries[^1], "since"));

        // Billed as BigQuery bills a read of the change history: the columns of the changed rows, 10 MB at least.
        var (processed, billed) = ChangeBilling(fake.Table.Snapshot(), committed, null);
        Assert.Equal(rows.Sum(r => RowBytes(new FakeTableRow(r.TenantId, r.Model)) + 8), processed);
        Assert.Equal(MinimumBilledBytes, billed);
    }

    [Fact]
    public async Task A_read_by_arrival_from_before_the_time_travel_window_is_refused_as_bigquery_refuses_it()
    {
        var source = Source(batchSize: 50);
        Assert.Equal(TimeSpan.FromDays(7), source.ArrivalWindow);
        var error = await Assert.ThrowsAsync<BigQueryException>(async () =>
        {
            await foreach (var _ in source.ReadFleetByArrivalAsync(DateTimeOffset.UtcNow.AddDays(-8), 10, CancellationToken.None))
            {
            }
        });
        Assert.Contains("time travel", error.Message, StringComparison.OrdinalIgnoreCase);
    }
}
