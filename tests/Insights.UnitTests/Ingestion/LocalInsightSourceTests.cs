using System.Text;
using System.Text.Json;
using Insights.Ingestion;
using Microsoft.Extensions.Logging.Abstractions;

namespace Insights.UnitTests.Ingestion;

public sealed class LocalInsightSourceTests : IDisposable
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), "insights-local-" + Guid.NewGuid().ToString("N")[..12]);

    public LocalInsightSourceTests() => Directory.CreateDirectory(folder);

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private LocalInsightSource Source() => new(folder, NullLogger<LocalInsightSource>.Instance);

    private static string Line(string tenant, string id, string updatedAt, long version = 1, string payload = """{"a":1}""", string extra = "") =>
        $$"""{"tenant_id":"{{tenant}}","id":"{{id}}","insight":"StockRupture","module":"SIGAEST","key":"000123","filter":null,"date_from":"2026-11-01","date_to":null,"payload":{{payload}},"version":{{version}},"updated_at":"{{updatedAt}}","deleted":false{{extra}}}""";

    private void Write(string name, params string[] lines) =>
        File.WriteAllText(Path.Combine(folder, name), string.Join("\n", lines) + "\n", new UTF8Encoding(false));

    private static async Task<List<SourcePage>> ReadAll(IInsightSource source, string tenant, SourceCursor? after = null, int pageSize = 100)
    {
        var pages = new List<SourcePage>();
        await foreach (var page in source.ReadAsync(tenant, after, pageSize, CancellationToken.None))
        {
            pages.Add(page);
        }

        return pages;
    }

    private static async Task<List<string>> Ids(IInsightSource source, string tenant, SourceCursor? after = null, int pageSize = 100) =>
        [.. (await ReadAll(source, tenant, after, pageSize)).SelectMany(p => p.Models).Select(m => m.Id)];

    [Fact]
    public async Task Only_the_tenants_models_come_ordered_by_updated_at_then_ordinal_id_across_files()
    {
        Write("b.ndjson",
            Line("acme", "m-2", "2026-11-23T10:00:00Z"),
            Line("demo", "d-1", "2026-11-20T10:00:00Z"),
            Line("acme", "m-10", "2026-11-23T10:00:00Z"),
            Line("acme", "M-3", "2026-11-23T10:00:00Z"));
        Write("a.ndjson",
            Line("acme", "m-1", "2026-11-24T08:00:00Z"),
            Line("acme", "m-0", "2026-11-22T23:59:59.999999Z"),
            Line("ACME", "x-1", "2026-11-21T00:00:00Z"));
        Write("ignored.json", Line("acme", "not-ndjson", "2026-11-21T00:00:00Z"));

        Assert.Equal(["m-0", "M-3", "m-10", "m-2", "m-1"], await Ids(Source(), "acme"));
        Assert.Equal(["d-1"], await Ids(Source(), "demo"));
        Assert.Equal(["x-1"], await Ids(Source(), "ACME"));
        Assert.Empty(await Ids(Source(), "nobody"));
    }

    [Fact]
    public async Task Reading_resumes_strictly_after_the_cursor()
    {
        Write("models.ndjson",
            Line("acme", "m-1", "2026-11-23T10:00:00Z"),
            Line("acme", "m-2", "2026-11-23T10:00:00Z"),
            Line("acme", "m-3", "2026-11-23T10:00:00Z"),
            Line("acme", "a-9", "2026-11-23T10:00:00.000001Z"),
            Line("acme", "z-0", "2026-11-23T09:59:59Z"));

        var at = new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);
        Assert.Equal(["m-3", "a-9"], await Ids(Source(), "acme", new SourceCursor(at, "m-2")));
        Assert.Equal(["m-1", "m-2", "m-3", "a-9"], await Ids(Source(), "acme", new SourceCursor(at, "")));
        Assert.Equal(["a-9"], await Ids(Source(), "acme", new SourceCursor(at, "m-3")));
        Assert.Empty(await Ids(Source(), "acme", new SourceCursor(at.AddTicks(10), "a-9")));
        // A cursor with finer ticks than a microsecond counts at its microsecond.
        Assert.Equal(["m-3", "a-9"], await Ids(Source(), "acme", new SourceCursor(at.AddTicks(3), "m-2")));
    }

    [Fact]
    public async Task Pages_hold_at_most_the_page_size_and_report_no_bytes()
    {
        Write("models.ndjson", [.. Enumerable.Range(0, 23).Select(i => Line("acme", $"m-{i:D3}", "2026-11-23T10:00:00Z"))]);

        var pages = await ReadAll(Source(), "acme", pageSize: 5);

        Assert.Equal([5, 5, 5, 5, 3], pages.Select(p => p.Models.Count));
        Assert.All(pages, p => Assert.Equal((0L, 0L), (p.BytesProcessed, p.BytesBilled)));
        Assert.Equal(Enumerable.Range(0, 23).Select(i => $"m-{i:D3}"), pages.SelectMany(p => p.Models).Select(m => m.Id));
    }

    [Fact]
    public async Task Every_column_is_read()
    {
        Write("models.ndjson",
            """{"tenant_id":"demo","id":"demo-cff-01","insight":"CashFlowForecast","module":"SIGAFIN","key":"01","filter":"E1_FILIAL = '01'","date_from":"2026-11-01","date_to":"2026-11-30","payload":{"moeda":"BRL","previsao":[{"data":"2026-11-03","saldo":-1.5}]},"version":3,"updated_at":"2026-11-23T09:58:12.3456789+03:00","deleted":true,"extra":{"ignored":[1,2]}}""");

        var model = Assert.Single((await ReadAll(Source(), "demo")).SelectMany(p => p.Models));

        Assert.Equal(
            new SourceModel(
                "demo-cff-01", "CashFlowForecast", "SIGAFIN", "01", "E1_FILIAL = '01'", new DateOnly(2026, 11, 1), new DateOnly(2026, 11, 30),
                """{"moeda":"BRL","previsao":[{"data":"2026-11-03","saldo":-1.5}]}""", 3,
                new DateTimeOffset(2026, 11, 23, 6, 58, 12, TimeSpan.Zero).AddTicks(3_456_780), true),
            model);
        Assert.Equal(TimeSpan.Zero, model.UpdatedAt.Offset);
    }

    [Theory]
    [InlineData("""{"a":1,"b":[true,null]}""", """{"a":1,"b":[true,null]}""")]
    [InlineData("""[1,2,3]""", """[1,2,3]""")]
    [InlineData("""  { "spaced" : "out" }  """, """{ "spaced" : "out" }""")]
    [InlineData("\"{\\\"a\\\":1,\\\"texto\\\":\\\"São Paulo\\\"}\"", """{"a":1,"texto":"São Paulo"}""")]
    [InlineData("null", "{}")]
    public async Task The_payload_may_be_json_or_a_string_holding_json(string payload, string expected)
    {
        Write("models.ndjson", Line("acme", "m-1", "2026-11-23T10:00:00Z", payload: payload));

        var model = Assert.Single((await ReadAll(Source(), "acme")).SelectMany(p => p.Models));

        Assert.Equal(expected, model.PayloadJson);
        JsonDocument.Parse(model.PayloadJson).Dispose();
    }

    [Fact]
    public async Task Defaults_apply_to_absent_optional_columns()
    {
        Write("models.ndjson", """{"tenant_id":"acme","id":"m-1","insight":"I","module":"SIGAFIN","version":"7","updated_at":"2026-11-23T10:00:00"}""");

        var model = Assert.Single((await ReadAll(Source(), "acme")).SelectMany(p => p.Models));

        Assert.Equal(new SourceModel("m-1", "I", "SIGAFIN", null, null, null, null, "{}", 7, new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero), false), model);
    }

    [Fact]
    public async Task Column_names_written_with_escapes_are_read_as_the_same_columns()
    {
        Write("models.ndjson", """{"tenant\u005fid":"acme","\u0069d":"m-1","insight":"I","module":"SIGAFIN","version":7,"updated\u005fat":"2026-11-23T10:00:00Z","unknown\u005fcolumn":1}""");

        var model = Assert.Single((await ReadAll(Source(), "acme")).SelectMany(p => p.Models));

        Assert.Equal(("m-1", 7L), (model.Id, model.Version));
    }

    [Fact]
    public async Task Crlf_endings_blank_lines_a_bom_and_a_last_line_without_newline_are_fine()
    {
        var text = "\r\n" + Line("acme", "m-1", "2026-11-23T10:00:00Z") + "\r\n\r\n   \r\n" + Line("acme", "m-2", "2026-11-23T11:00:00Z");
        File.WriteAllText(Path.Combine(folder, "models.ndjson"), text, new UTF8Encoding(true));

        Assert.Equal(["m-1", "m-2"], await Ids(Source(), "acme"));
    }

    [Fact]
    public async Task A_line_longer_than_the_read_buffer_is_read_whole()
    {
        var big = new string('x', 3 * 1024 * 1024);
        Write("models.ndjson",
            Line("acme", "m-1", "2026-11-23T10:00:00Z"),
            Line("acme", "m-2", "2026-11-23T11:00:00Z", payload: $$"""{"big":"{{big}}"}"""),
            Line("acme", "m-3", "2026-11-23T12:00:00Z"));

        var models = (await ReadAll(Source(), "acme", pageSize: 1)).SelectMany(p => p.Models).ToList();

        Assert.Equal(["m-1", "m-2", "m-3"], models.Select(m => m.Id));
        Assert.Equal(big.Length + 10, models[1].PayloadJson.Length);
    }

    [Theory]
    [InlineData("""{"tenant_id":"acme","id":"m-2",""", "line 3:")]
    [InlineData("""not json at all""", "line 3:")]
    [InlineData("""[1,2]""", "line 3: the line is not a JSON object")]
    [InlineData("""{"tenant_id":"acme","id":"m-2","insight":"I","module":"M","updated_at":"2026-11-23T10:00:00Z"}""", "line 3: missing version")]
    [InlineData("""{"tenant_id":"acme","id":"m-2","insight":"I","module":"M","version":1.5,"updated_at":"2026-11-23T10:00:00Z"}""", "line 3: column 'version' must be an integer")]
    [InlineData("""{"tenant_id":"acme","id":"m-2","insight":"I","module":"M","version":1,"updated_at":"yesterday"}""", "line 3: column 'updated_at' must be an ISO 8601 timestamp")]
    [InlineData("""{"tenant_id":"acme","id":"m-2","insight":"I","module":"M","version":1,"updated_at":"2026-11-23T10:00:00Z","date_from":"23/11/2026"}""", "line 3: column 'date_from' must be a date")]
    [InlineData("""{"tenant_id":"acme","id":"m-2","insight":"I","module":"M","version":1,"updated_at":"2026-11-23T10:00:00Z","payload":"{not json"}""", "line 3: column 'payload' is a string that does not hold JSON")]
    [InlineData("""{"tenant_id":"acme","id":"m-2","insight":"I","module":"M","version":1,"updated_at":"2026-11-23T10:00:00Z"} {"x":1}""", "line 3:")]
    public async Task A_malformed_line_fails_naming_the_file_and_the_line(string bad, string expected)
    {
        Write("good.ndjson", Line("acme", "m-0", "2026-11-23T10:00:00Z"));
        Write("bad.ndjson", Line("other", "o-1", "2026-11-23T10:00:00Z"), "", bad, Line("acme", "m-9", "2026-11-23T10:00:00Z"));

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ReadAll(Source(), "acme"));

        Assert.Contains(Path.Combine(folder, "bad.ndjson") + ", " + expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Files_scanned_side_by_side_report_the_failure_of_the_first_file_in_order()
    {
        for (var i = 0; i < 8; i++)
        {
            Write($"f{i}.ndjson", Line("acme", $"m-{i}", "2026-11-23T10:00:00Z"), i is 3 or 6 ? "not json" : Line("acme", $"n-{i}", "2026-11-23T11:00:00Z"));
        }

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ReadAll(Source(), "acme"));

        Assert.Contains(Path.Combine(folder, "f3.ndjson") + ", line 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_folder_names_the_setting()
    {
        var source = new LocalInsightSource(Path.Combine(folder, "nope"), NullLogger<LocalInsightSource>.Instance);

        var error = await Assert.ThrowsAsync<DirectoryNotFoundException>(() => ReadAll(source, "acme"));

        Assert.Contains("Ingestion:Local:Folder", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_relative_folder_is_found_under_the_content_root_or_a_parent()
    {
        var nested = Path.Combine(folder, "src", "Insights.Api");
        Directory.CreateDirectory(nested);
        Directory.CreateDirectory(Path.Combine(folder, "samples", "models"));

        Assert.Equal(Path.Combine(folder, "samples", "models"), LocalInsightSource.ResolveFolder("samples/models", nested));
        Assert.Equal("/abs/olute", LocalInsightSource.ResolveFolder("/abs/olute", nested));
    }

    [Fact]
    public async Task The_shipped_samples_read_cleanly()
    {
        var samples = LocalInsightSource.ResolveFolder(new LocalSourceOptions().Folder, AppContext.BaseDirectory);
        var source = new LocalInsightSource(samples, NullLogger<LocalInsightSource>.Instance);

        var demo = (await ReadAll(source, "demo", pageSize: 7)).SelectMany(p => p.Models).ToList();
        var acme = (await ReadAll(source, "acme", pageSize: 7)).SelectMany(p => p.Models).ToList();

        Assert.Equal(17, demo.Count);
        Assert.Equal(12, acme.Count);
        Assert.Single(demo, m => m.Deleted);
        Assert.Equal(
            ["AccountingMatch", "CashFlowForecast", "PurchaseDemand", "StockRupture"],
            demo.Select(m => m.Insight).Distinct().Order(StringComparer.Ordinal));
        Assert.Equal(demo.OrderBy(m => m.UpdatedAt).ThenBy(m => m.Id, StringComparer.Ordinal), demo);
        Assert.All(demo.Concat(acme), m => JsonDocument.Parse(m.PayloadJson).Dispose());
    }

    [Fact]
    public async Task Many_rows_are_read_in_order_with_one_scan()
    {
        var payload = JsonSerializer.Serialize(new { texto = new string('p', 900) });
        Write("a.ndjson", [.. Enumerable.Range(0, 20_000).Select(i => Line(i % 2 == 0 ? "acme" : "demo", $"m-{19_999 - i:D5}", $"2026-11-{1 + (i % 28):D2}T10:00:00Z", i, payload))]);

        var pages = await ReadAll(Source(), "acme", pageSize: 1000);

        var models = pages.SelectMany(p => p.Models).ToList();
        Assert.Equal(10_000, models.Count);
        Assert.Equal(models.OrderBy(m => m.UpdatedAt).ThenBy(m => m.Id, StringComparer.Ordinal), models);
        Assert.All(pages, p => Assert.Equal(1000, p.Models.Count));
    }
}
