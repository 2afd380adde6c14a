using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Apis.Auth.OAuth2;
using Insights.BigQuery;
using Insights.IntegrationTests.Fakes;
using Insights.Tenancy;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using static Insights.IntegrationTests.Fakes.FakeBigQuery;

namespace Insights.IntegrationTests.BigQuery;

/// <summary>The REST client against a wire-faithful fake BigQuery: request shape, polling, paging, decoding, errors.</summary>
public sealed class BigQueryClientTests : IAsyncLifetime
{
    private const string Sql = "SELECT id, n FROM `ds.t` WHERE tenant_id = @tenantId LIMIT @limit";
    // One client for every test, as the host's factory would share handlers.
    private static readonly HttpClient Http = new();
    private FakeBigQuery fake = null!;

    public async Task InitializeAsync() => fake = await FakeBigQuery.StartAsync();

    public async Task DisposeAsync()
    {
        await fake.DisposeAsync();
    }

    private BigQueryClient Client(Action<BigQueryOptions>? configure = null)
    {
        var options = new BigQueryOptions
        {
            BaseUrl = fake.BaseUrl,
            ProjectId = "carol-prod",
            Location = "southamerica-east1",
            PageSize = 2,
            Retry = new BigQueryRetryOptions { InitialDelayMs = 1, MaxDelayMs = 5, MaxPollDelayMs = 2, DeadlineSeconds = 10 },
        };
        configure?.Invoke(options);
        return new BigQueryClient(Http, GoogleCredential.FromAccessToken("test-token"), Options.Create(options), NullLogger<BigQueryClient>.Instance);
    }

    private static BigQueryQuery Query(string tenant = "acme") => new(Sql)
    {
        TenantId = tenant,
        Parameters = [BigQueryParameter.String("tenantId", tenant), BigQueryParameter.Int64("limit", 5000)],
    };

    private static FakeResult Numbers(int count, int incompleteAnswers = 0, int? rowsPerPage = null) => new()
    {
        Fields = [Field("id", "STRING"), Field("n", "INTEGER")],
        Rows = [.. Enumerable.Range(1, count).Select(i => Row($"m-{i}", i.ToString(CultureInfo.InvariantCulture)))],
        IncompleteAnswers = incompleteAnswers,
        RowsPerPage = rowsPerPage,
        BytesProcessed = 3_000_000,
        BytesBilled = 10_485_760,
    };

    private static async Task<List<BigQueryPage>> ReadAll(BigQueryClient client, BigQueryQuery query)
    {
        var pages = new List<BigQueryPage>();
        await foreach (var page in client.QueryAsync(query))
        {
            pages.Add(page);
        }

        return pages;
    }

    private static long[] Ns(IEnumerable<BigQueryPage> pages) => [.. pages.SelectMany(p => p.Rows).Select(r => (long)r["n"]!)];

    [Fact]
    public async Task The_query_request_is_the_one_of_the_spec()
    {
        fake.OnQuery = _ => Numbers(1);
        var query = Query("Acme_Corp-01") with
        {
            Parameters =
            [
                BigQueryParameter.String("tenantId", "Acme_Corp-01"),
                BigQueryParameter.Int64("limit", 5000),
                BigQueryParameter.Timestamp("afterUpdatedAt", new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)),
            ],
        };

        await ReadAll(Client(), query);

        var request = Assert.Single(fake.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/bigquery/v2/projects/carol-prod/queries", request.Path);
        Assert.Equal("Bearer test-token", request.Header("Authorization"));
        Assert.StartsWith("application/json", request.Header("Content-Type"), StringComparison.Ordinal);
        var body = request.Json;
        Assert.Equal(Sql, body.GetProperty("query").GetString());
        Assert.Equal(JsonValueKind.False, body.GetProperty("useLegacySql").ValueKind);
        Assert.Equal("NAMED", body.GetProperty("parameterMode").GetString());
        Assert.Equal(
            """[{"name":"tenantId","parameterType":{"type":"STRING"},"parameterValue":{"value":"Acme_Corp-01"}},"""
            + """{"name":"limit","parameterType":{"type":"INT64"},"parameterValue":{"value":"5000"}},"""
            + """{"name":"afterUpdatedAt","parameterType":{"type":"TIMESTAMP"},"parameterValue":{"value":"2026-01-01 00:00:00.000000+00:00"}}]""",
            body.GetProperty("queryParameters").GetRawText());
        Assert.Equal("southamerica-east1", body.GetProperty("location").GetString());
        Assert.Equal(JsonValueKind.Number, body.GetProperty("maxResults").ValueKind);
        Assert.Equal(2, body.GetProperty("maxResults").GetInt32());
        Assert.Equal(JsonValueKind.Number, body.GetProperty("timeoutMs").ValueKind);
        Assert.Equal(10000, body.GetProperty("timeoutMs").GetInt32());
        Assert.Equal("JOB_CREATION_OPTIONAL", body.GetProperty("jobCreationMode").GetString());
        Assert.True(Guid.TryParse(body.GetProperty("requestId").GetString(), out _));
        Assert.Equal(JsonValueKind.True, body.GetProperty("formatOptions").GetProperty("useInt64Timestamp").ValueKind);
        Assert.Equal(JsonValueKind.String, body.GetProperty("maximumBytesBilled").ValueKind);
        Assert.Equal("10737418240", body.GetProperty("maximumBytesBilled").GetString());
        Assert.Equal("""{"tenant":"acme_corp-01","app":"insights"}""", body.GetProperty("labels").GetRawText());
    }

    [Theory]
    [InlineData("acme", "acme")]
    [InlineData("ACME_Corp-01", "acme_corp-01")]
    [InlineData("a.b c", "a_b_c")]
    [InlineData("", "")]
    public void Labels_are_sanitized(string value, string label) => Assert.Equal(label, BigQueryLabels.Sanitize(value));

    [Fact]
    public void A_long_label_is_cut_at_63_characters() => Assert.Equal(new string('x', 63), BigQueryLabels.Sanitize(new string('X', 64)));

    [Fact]
    public async Task A_complete_answer_is_paged_with_page_tokens_until_there_is_none()
    {
        fake.OnQuery = _ => Numbers(5);

        var pages = await ReadAll(Client(), Query());

        Assert.Equal([1L, 2, 3, 4, 5], Ns(pages));
        Assert.Equal([0, 1, 2], pages.Select(p => p.PageIndex));
        Assert.All(pages, p => Assert.True(p.Rows.Count <= 2));
        var requests = fake.Requests;
        Assert.Equal(["POST", "GET", "GET"], requests.Select(r => r.Method));
        Assert.Null(requests[0].Query("pageToken"));
        Assert.NotNull(requests[1].Query("pageToken"));
        Assert.NotEqual(requests[1].Query("pageToken"), requests[2].Query("pageToken"));
        var jobId = pages[0].JobId;
        Assert.NotNull(jobId);
        Assert.All(requests.Skip(1), r =>
        {
            Assert.Equal($"/bigquery/v2/projects/carol-prod/queries/{jobId}", r.Path);
            Assert.Equal("2", r.Query("maxResults"));
            Assert.Equal("southamerica-east1", r.Query("location"));
            Assert.Equal("true", r.Query("formatOptions.useInt64Timestamp"));
            Assert.Equal("Bearer test-token", r.Header("Authorization"));
        });
        Assert.All(pages, p =>
        {
            Assert.Equal(jobId, p.JobId);
            Assert.Equal(5, p.TotalRows);
            Assert.Equal(3_000_000, p.TotalBytesProcessed);
            Assert.Equal(10_485_760, p.TotalBytesBilled);
        });
    }

    [Fact]
    public async Task Pages_shorter_than_asked_are_followed()
    {
        fake.OnQuery = _ => Numbers(5, rowsPerPage: 1);

        var pages = await ReadAll(Client(), Query());

        Assert.Equal([1L, 2, 3, 4, 5], Ns(pages));
        Assert.Equal(5, pages.Count);
    }

    [Fact]
    public async Task A_short_query_answered_without_a_job_is_one_page()
    {
        fake.OnQuery = _ => Numbers(2);

        var page = Assert.Single(await ReadAll(Client(), Query()));

        Assert.Null(page.JobId);
        Assert.NotNull(page.QueryId);
        Assert.Equal([1L, 2], Ns([page]));
        Assert.Single(fake.Requests);
    }

    [Fact]
    public async Task An_unfinished_job_is_polled_without_rows_then_read_page_by_page_and_billed_from_jobs_get()
    {
        fake.OnQuery = _ => Numbers(5, incompleteAnswers: 3);

        var pages = await ReadAll(Client(), Query());

        Assert.Equal([1L, 2, 3, 4, 5], Ns(pages));
        var requests = fake.Requests;
        Assert.Equal(
            [FakeCall.Query, FakeCall.Results, FakeCall.Results, FakeCall.Results, FakeCall.Results, FakeCall.Job, FakeCall.Results, FakeCall.Results],
            requests.Select(r => r.Call));
        var polls = requests.Skip(1).Take(3).ToList();
        Assert.All(polls, r =>
        {
            Assert.Equal("0", r.Query("maxResults"));
            Assert.Equal("10000", r.Query("timeoutMs"));
            Assert.Null(r.Query("pageToken"));
        });
        Assert.Equal("2", requests[4].Query("maxResults"));
        Assert.Null(requests[4].Query("pageToken"));
        Assert.Equal("southamerica-east1", requests[5].Query("location"));
        Assert.All(requests.Skip(6), r => Assert.NotNull(r.Query("pageToken")));
        Assert.All(pages, p => Assert.Equal(10_485_760, p.TotalBytesBilled));
        Assert.All(pages, p => Assert.Equal(3_000_000, p.TotalBytesProcessed));
    }

    [Fact]
    public async Task Bytes_processed_stand_in_for_bytes_billed_when_jobs_get_is_refused()
    {
        fake.OnQuery = _ => Numbers(1, incompleteAnswers: 1);
        fake.FailNext(FakeCall.Job, 403, "accessDenied", "Access Denied: Job carol-prod:job_x");

        var page = Assert.Single(await ReadAll(Client(), Query()));

        Assert.Equal(3_000_000, page.TotalBytesBilled);
    }

    [Fact]
    public async Task Every_column_type_is_decoded()
    {
        var json = new JsonObject { ["saldo"] = 1250.5, ["alertas"] = new JsonArray("a", "b") }.ToJsonString();
        fake.OnQuery = _ => new FakeResult
        {
            Fields =
            [
                Field("s", "STRING"),
                Field("i_legacy", "INTEGER", "NULLABLE"),
                Field("i", "INT64"),
                Field("f_legacy", "FLOAT"),
                Field("f", "FLOAT64"),
                Field("num", "NUMERIC"),
                Field("big", "BIGNUMERIC"),
                Field("b_legacy", "BOOLEAN"),
                Field("b", "BOOL"),
                Field("bytes", "BYTES"),
                Field("d", "DATE"),
                Field("dt", "DATETIME"),
                Field("t", "TIME"),
                Field("ts", "TIMESTAMP"),
                Field("j", "JSON"),
                Field("geo", "GEOGRAPHY"),
                Field("tags", "STRING", "REPEATED"),
                Field("rec", "RECORD", "NULLABLE", Field("code", "STRING"), Field("qty", "INT64"), Field("inner", "STRUCT", null, Field("ok", "BOOLEAN")), Field("list", "FLOAT", "REPEATED")),
                Field("recs", "STRUCT", "REPEATED", Field("k", "STRING")),
                Field("nothing", "STRING"),
                Field("required_s", "STRING", "REQUIRED"),
            ],
            Rows =
            [
                Row(
                    "Olá, São Paulo", "-9223372036854775808", "9223372036854775807", "1.5", "-2.5E-3", "123456789.123456789",
                    "578960446186580977117854925043439539266.34992332820282019728792003956564819967", "true", "false",
                    Convert.ToBase64String([0, 1, 2, 255]), "2026-11-23", "2026-11-23T10:15:30.123456", "23:59:59.999999", "1763892000123456",
                    json, "POINT(-46.63 -23.55)", Repeated("a", "b"),
                    Record("P-01", "42", Record("true"), Repeated("1.25", "2")), Repeated(Record("x"), Record("y")), null, "req"),
                Row(null, null, null, "NaN", "-Infinity", null, "1e-9", null, null, null, null, "2026-01-02T03:04:05", "00:00:00", "1.7638920E9",
                    "null", null, Repeated(), null, Repeated(), null, ""),
            ],
        };

        var page = Assert.Single(await ReadAll(Client(), Query()));

        var row = page.Rows[0];
        Assert.Equal("Olá, São Paulo", row["s"]);
        Assert.Equal(long.MinValue, row["i_legacy"]);
        Assert.Equal(long.MaxValue, row["I"]);
        Assert.Equal(1.5, row["f_legacy"]);
        Assert.Equal(-0.0025, row["f"]);
        Assert.Equal(123456789.123456789m, row["num"]);
        Assert.Equal("578960446186580977117854925043439539266.34992332820282019728792003956564819967", row["big"]);
        Assert.Equal(true, row["b_legacy"]);
        Assert.Equal(false, row["b"]);
        Assert.Equal(new byte[] { 0, 1, 2, 255 }, row["bytes"]);
        Assert.Equal(new DateOnly(2026, 11, 23), row["d"]);
        var dateTime = Assert.IsType<DateTime>(row["dt"]);
        Assert.Equal(new DateTime(2026, 11, 23, 10, 15, 30).AddTicks(1_234_560), dateTime);
        Assert.Equal(DateTimeKind.Unspecified, dateTime.Kind);
        Assert.Equal(new TimeOnly(23, 59, 59).Add(TimeSpan.FromTicks(9_999_990)), row["t"]);
        var timestamp = Assert.IsType<DateTimeOffset>(row["ts"]);
        Assert.Equal(new DateTimeOffset(2025, 11, 23, 10, 0, 0, TimeSpan.Zero).AddTicks(1_234_560), timestamp);
        Assert.Equal(TimeSpan.Zero, timestamp.Offset);
        var document = Assert.IsType<JsonElement>(row["j"]);
        Assert.Equal(1250.5, document.GetProperty("saldo").GetDouble());
        Assert.Equal("POINT(-46.63 -23.55)", row["geo"]);
        Assert.Equal(new object?[] { "a", "b" }, Assert.IsAssignableFrom<IReadOnlyList<object?>>(row["tags"]));
        var record = Assert.IsAssignableFrom<IReadOnlyDictionary<string, object?>>(row["rec"]);
        Assert.Equal("P-01", record["code"]);
        Assert.Equal(42L, record["qty"]);
        Assert.Equal(true, Assert.IsAssignableFrom<IReadOnlyDictionary<string, object?>>(record["inner"])["ok"]);
        Assert.Equal(new object?[] { 1.25, 2.0 }, Assert.IsAssignableFrom<IReadOnlyList<object?>>(record["list"]));
        var records = Assert.IsAssignableFrom<IReadOnlyList<object?>>(row["recs"]);
        Assert.Equal(new object?[] { "x", "y" }, records.Select(r => ((IReadOnlyDictionary<string, object?>)r!)["k"]));
        Assert.Null(row["nothing"]);
        Assert.Equal("req", row["required_s"]);

        var nulls = page.Rows[1];
        Assert.Null(nulls["s"]);
        Assert.Null(nulls["i"]);
        Assert.True(double.IsNaN((double)nulls["f_legacy"]!));
        Assert.Equal(double.NegativeInfinity, nulls["f"]);
        Assert.Null(nulls["num"]);
        Assert.Equal(0.000000001m, nulls["big"]);
        Assert.Null(nulls["b"]);
        Assert.Null(nulls["bytes"]);
        Assert.Null(nulls["d"]);
        Assert.Equal(new DateTime(2026, 1, 2, 3, 4, 5), nulls["dt"]);
        Assert.Equal(TimeOnly.MinValue, nulls["t"]);
        Assert.Equal(new DateTimeOffset(2025, 11, 23, 10, 0, 0, TimeSpan.Zero), nulls["ts"]);
        Assert.Equal(JsonValueKind.Null, Assert.IsType<JsonElement>(nulls["j"]).ValueKind);
        Assert.Empty(Assert.IsAssignableFrom<IReadOnlyList<object?>>(nulls["tags"]));
        Assert.Null(nulls["rec"]);
        Assert.Equal("", nulls["required_s"]);

        Assert.Equal(
            [BigQueryType.String, BigQueryType.Int64, BigQueryType.Int64, BigQueryType.Float64, BigQueryType.Float64, BigQueryType.Numeric, BigQueryType.BigNumeric, BigQueryType.Bool, BigQueryType.Bool],
            page.Schema.Take(9).Select(f => f.Type));
        Assert.Equal(BigQueryMode.Nullable, page.Schema[0].Mode);
        Assert.Equal(BigQueryMode.Repeated, page.Schema[16].Mode);
        Assert.Equal(BigQueryType.Record, page.Schema[18].Type);
    }

    [Theory]
    [InlineData("1763892000000000", 0)]
    [InlineData("1763892000123456", 1_234_560)]
    [InlineData("1.7638920E9", 0)]
    [InlineData("1.763892000123456E9", 1_234_560)]
    [InlineData("1763892000.5", 5_000_000)]
    [InlineData("1.7638920001E+09", 1_000_000)]
    public async Task Timestamps_are_read_as_int64_microseconds_and_as_float_seconds(string cell, long ticksAfter)
    {
        fake.OnQuery = _ => new FakeResult { Fields = [Field("ts", "TIMESTAMP")], Rows = [Row(cell)] };

        var page = Assert.Single(await ReadAll(Client(), Query()));

        Assert.Equal(new DateTimeOffset(2025, 11, 23, 10, 0, 0, TimeSpan.Zero).AddTicks(ticksAfter), page.Rows[0]["ts"]);
    }

    [Theory]
    [InlineData(403, "rateLimitExceeded")]
    [InlineData(429, null)]
    [InlineData(429, "rateLimitExceeded")]
    [InlineData(500, "backendError")]
    [InlineData(503, "backendError")]
    [InlineData(500, "internalError")]
    [InlineData(502, "badGateway")]
    [InlineData(503, null)]
    public async Task Transient_errors_are_retried_with_a_new_request_id(int status, string? reason)
    {
        fake.OnQuery = _ => Numbers(2);
        fake.FailNext(FakeCall.Query, status, reason, "Exceeded rate limits: too many requests", times: 2);

        var pages = await ReadAll(Client(), Query());

        Assert.Equal([1L, 2], Ns(pages));
        var posts = fake.Queries;
        Assert.Equal(3, posts.Count);
        Assert.Equal(3, posts.Select(p => p.Json.GetProperty("requestId").GetString()).Distinct().Count());
    }

    [Fact]
    public async Task A_transient_error_while_paging_retries_the_same_page()
    {
        fake.OnQuery = _ => Numbers(5);
        fake.FailNext(FakeCall.Results, 500, "backendError");

        var pages = await ReadAll(Client(), Query());

        Assert.Equal([1L, 2, 3, 4, 5], Ns(pages));
        var gets = fake.Requests.Where(r => r.Call == FakeCall.Results).ToList();
        Assert.Equal(3, gets.Count);
        Assert.Equal(gets[0].Query("pageToken"), gets[1].Query("pageToken"));
    }

    [Fact]
    public async Task A_dropped_connection_is_retried()
    {
        fake.OnQuery = _ => Numbers(1);
        fake.AbortNext(FakeCall.Query);

        var pages = await ReadAll(Client(), Query());

        Assert.Equal([1L], Ns(pages));
        Assert.Equal(2, fake.Queries.Count);
    }

    [Fact]
    public async Task A_request_that_times_out_is_retried()
    {
        fake.OnQuery = _ => Numbers(1);
        fake.DelayNext(FakeCall.Query, TimeSpan.FromSeconds(3));

        var pages = await ReadAll(Client(o => (o.HttpTimeoutSeconds, o.TimeoutMs) = (1, 500)), Query());

        Assert.Equal([1L], Ns(pages));
        Assert.Equal(2, fake.Queries.Count);
    }

    [Fact]
    public async Task Transient_errors_give_up_at_the_deadline_as_retryable()
    {
        fake.OnQuery = _ => Numbers(1);
        fake.FailNext(FakeCall.Query, 503, "backendError", "Backend error", times: 10_000);

        var error = await Assert.ThrowsAsync<BigQueryException>(() => ReadAll(Client(o => o.Retry.DeadlineSeconds = 1), Query()));

        Assert.True(error.IsRetryable);
        Assert.Equal("backendError", error.Reason);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, error.StatusCode);
        Assert.Contains("giving up", error.Message, StringComparison.Ordinal);
        Assert.True(fake.Queries.Count > 2);
    }

    [Theory]
    [InlineData("jobBackendError")]
    [InlineData("jobInternalError")]
    [InlineData("jobRateLimitExceeded")]
    public async Task A_failed_job_is_issued_again_with_a_new_request_id(string reason)
    {
        fake.OnQuery = _ => Numbers(3, incompleteAnswers: 1);
        fake.FailNext(FakeCall.Results, 400, reason, "The job encountered an error during execution. Retrying the job may solve the problem.");

        var pages = await ReadAll(Client(), Query());

        Assert.Equal([1L, 2, 3], Ns(pages));
        var posts = fake.Queries;
        Assert.Equal(2, posts.Count);
        Assert.NotEqual(posts[0].Json.GetProperty("requestId").GetString(), posts[1].Json.GetProperty("requestId").GetString());
        Assert.Equal(posts[0].Json.GetProperty("query").GetString(), posts[1].Json.GetProperty("query").GetString());
    }

    [Fact]
    public async Task A_job_that_keeps_failing_gives_up_after_the_configured_reissues()
    {
        fake.OnQuery = _ => Numbers(1);
        fake.FailNext(FakeCall.Query, 500, "jobBackendError", "The job encountered an internal error", times: 10);

        var error = await Assert.ThrowsAsync<BigQueryException>(() => ReadAll(Client(o => o.Retry.MaxJobRetries = 2), Query()));

        Assert.Equal(3, fake.Queries.Count);
        Assert.Equal("jobBackendError", error.Reason);
        Assert.True(error.IsRetryable);
    }

    [Theory]
    [InlineData(400, "invalidQuery", "Syntax error: Unexpected keyword FORM at [1:10]", "Invalid query: Syntax error: Unexpected keyword FORM at [1:10]")]
    [InlineData(400, "invalid", "Query parameter 'limit' not found", "Invalid query: Query parameter 'limit' not found")]
    [InlineData(404, "notFound", "Not found: Table carol-prod:ds.t was not found in location southamerica-east1", "BigQuery table not found: Not found: Table carol-prod:ds.t")]
    [InlineData(403, "accessDenied", "Access Denied: Project carol-prod: User does not have bigquery.jobs.create permission",
        "BigQuery denied access to project carol-prod: check the service account's roles bigquery.jobUser and bigquery.dataViewer")]
    [InlineData(403, "quotaExceeded", "Quota exceeded: Your project exceeded quota for free query bytes scanned", "BigQuery quota exceeded: Quota exceeded")]
    [InlineData(401, null, "Request had invalid authentication credentials.", "BigQuery rejected the credentials (HTTP 401)")]
    [InlineData(401, "unauthorized", "Request had invalid authentication credentials.", "BigQuery rejected the credentials (HTTP 401)")]
    [InlineData(409, "duplicate", "Already Exists: Job carol-prod:job_1", "BigQuery reported a duplicate: Already Exists")]
    [InlineData(400, "invalidQuery", "Query exceeded limit for bytes billed: 10737418240. 21474836480 or higher required.",
        "The query would bill more than BigQuery:MaximumBytesBilled (10737418240 bytes)")]
    public async Task Permanent_errors_are_not_retried_and_say_what_is_wrong(int status, string? reason, string message, string expected)
    {
        fake.OnQuery = _ => Numbers(1);
        fake.FailNext(FakeCall.Query, status, reason, message, times: 5);

        var error = await Assert.ThrowsAsync<BigQueryException>(() => ReadAll(Client(), Query()));

        Assert.Single(fake.Requests);
        Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
        Assert.Equal(reason, error.Reason);
        Assert.Equal((HttpStatusCode)status, error.StatusCode);
        Assert.False(error.IsRetryable);
    }

    [Fact]
    public async Task A_job_that_vanished_while_paging_is_reported_as_a_missing_job()
    {
        fake.OnQuery = _ => Numbers(5);
        fake.FailNext(FakeCall.Results, 404, "notFound", "Not found: Job carol-prod:job_x");

        var error = await Assert.ThrowsAsync<BigQueryException>(() => ReadAll(Client(), Query()));

        Assert.StartsWith("BigQuery job not found", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_that_cannot_be_obtained_fails_with_a_message_about_credentials()
    {
        var options = new BigQueryOptions { BaseUrl = fake.BaseUrl, ProjectId = "carol-prod" };
        var client = new BigQueryClient(Http, new FailingToken(), Options.Create(options), NullLogger<BigQueryClient>.Instance);

        var error = await Assert.ThrowsAsync<BigQueryException>(() => ReadAll(client, Query()));

        Assert.Contains("access token", error.Message, StringComparison.Ordinal);
        Assert.Contains("BigQuery:CredentialsFile", error.Message, StringComparison.Ordinal);
        Assert.Empty(fake.Requests);
    }

    [Fact]
    public void Cost_is_bytes_billed_times_the_price_per_tib()
    {
        Assert.Equal(6.25m, BigQueryCost.Estimate(1L << 40, 6.25m));
        Assert.Equal(0.00006m, BigQueryCost.Estimate(10_485_760, 6.25m));
        Assert.Equal(0m, BigQueryCost.Estimate(0, 6.25m));
        Assert.Equal(12.5m, new BigQueryOptions { PricePerTiB = 5m }.Estimate(5L << 39));
    }

    private sealed class FailingToken : ITokenAccess
    {
        public Task<string> GetAccessTokenForRequestAsync(string? authUri = null, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("The Application Default Credentials are not available.");
    }
}
