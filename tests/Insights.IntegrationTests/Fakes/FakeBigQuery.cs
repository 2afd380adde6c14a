using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Insights.Http;
using Insights.Ingestion;
using Insights.Tenancy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Insights.IntegrationTests.Fakes;

/// <summary>Which BigQuery method a scripted failure or delay applies to.</summary>
public enum FakeCall
{
    Any,
    Query,
    Results,
    Job,
}

/// <summary>One request the fake received, as it arrived.</summary>
public sealed record RecordedRequest(string Method, string Path, string QueryString, IReadOnlyDictionary<string, string> Headers, string Body)
{
    public FakeCall Call => Method == "POST" ? FakeCall.Query : Path.Contains("/jobs/", StringComparison.Ordinal) ? FakeCall.Job : FakeCall.Results;

    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    public string? Query(string name) =>
        Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(QueryString).TryGetValue(name, out var value) ? value.ToString() : null;

    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>A jobs.query request as the fake understood it.</summary>
public sealed record FakeQueryRequest(string Sql, IReadOnlyDictionary<string, (string Type, string? Value)> Parameters, int? MaxResults, bool UseInt64Timestamp);

/// <summary>What a query returns: schema fields, rows already encoded as BigQuery cells, and how the job behaves.</summary>
public sealed class FakeResult
{
    public required JsonArray Fields { get; init; }
    public List<JsonObject> Rows { get; init; } = [];

    /// <summary>How many answers (the jobs.query one included) say <c>jobComplete: false</c> before the job is done.</summary>
    public int IncompleteAnswers { get; init; }

    /// <summary>A server-side cap on rows per page, below <c>maxResults</c> (BigQuery caps pages at ~10 MB).</summary>
    public int? RowsPerPage { get; init; }

    public long BytesProcessed { get; init; } = 1_048_576;
    public long BytesBilled { get; init; } = 10_485_760;
    public bool CacheHit { get; init; }

    /// <summary>A short query answered in one page gets no job with JOB_CREATION_OPTIONAL; set this to always create one.</summary>
    public bool AlwaysCreateJob { get; init; }
}

/// <summary>A row of the fake's source table: a tenant's insight model.</summary>
public sealed record FakeTableRow(string TenantId, SourceModel Model);

/// <summary>A row of the table with the commit time of the write that appended it (its <c>_CHANGE_TIMESTAMP</c>).</summary>
public sealed record FakeCommittedRow(FakeTableRow Row, DateTimeOffset CommittedAt);

/// <summary>
/// The fake's source table: rows appended by the tests, each stamped with the time it was committed (now, by
/// <see cref="Clock"/>, unless given), as the table's change history would hold it.
/// </summary>
public sealed class FakeTable : IEnumerable<FakeTableRow>
{
    private readonly Lock gate = new();
    private readonly List<FakeCommittedRow> rows = [];

    public TimeProvider Clock { get; set; } = TimeProvider.System;

    public int Count
    {
        get
        {
            lock (gate)
            {
                return rows.Count;
            }
        }
    }

    /// <summary>Appends a row committed now.</summary>
    public void Add(FakeTableRow row) => Add(row, Clock.GetUtcNow());

    /// <summary>Appends a row committed at <paramref name="committedAt"/> (microseconds, as BigQuery keeps it).</summary>
    public void Add(FakeTableRow row, DateTimeOffset committedAt)
    {
        lock (gate)
        {
            rows.Add(new FakeCommittedRow(row, SourceTime.Truncate(committedAt)));
        }
    }

    public IReadOnlyList<FakeCommittedRow> Snapshot()
    {
        lock (gate)
        {
            return [.. rows];
        }
    }

    public IEnumerator<FakeTableRow> GetEnumerator() => Snapshot().Select(r => r.Row).GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Thrown by a query handler: the fake answers the query with this Google error.</summary>
public sealed class FakeQueryException(int status, string reason, string message) : Exception(message)
{
    public int Status => status;
    public string Reason => reason;
}

/// <summary>
/// A wire-faithful BigQuery REST v2 server on loopback (see docs/bigquery-wire.md): jobs.query, jobs.getQueryResults and
/// jobs.get, with jobs that stay unfinished for a while, page tokens, Google-format errors, and every request recorded.
/// Queries are answered by <see cref="OnQuery"/>, by default from <see cref="Table"/> filtered with the request's
/// @tenantId, @afterUpdatedAt, @afterId and @limit, or for a fleet sweep's query with @since (every tenant's rows, with
/// their tenant_id), or for a read of the table's change history (<c>APPENDS(TABLE t, @since, NULL|@until)</c>) with the
/// rows committed in that window, each with its <c>_CHANGE_TYPE</c> and <c>_CHANGE_TIMESTAMP</c>, refusing a start older
/// than <see cref="TimeTravelWindow"/> as BigQuery does. The table is taken as partitioned by the day of updated_at and
/// clustered by tenant_id, and billed as BigQuery bills on demand (<see cref="Billing"/>, <see cref="ChangeBilling"/>).
/// </summary>
public sealed partial class FakeBigQuery : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly Lock gate = new();
    private readonly List<RecordedRequest> requests = [];
    private readonly List<Scripted> script = [];
    private readonly Dictionary<string, Job> jobs = [];

    private FakeBigQuery(WebApplication app)
    {
        this.app = app;
        OnQuery = FromTable;
    }

    public string BaseUrl { get; private set; } = "";

    /// <summary>Answers a query; the default serves <see cref="Table"/>.</summary>
    public Func<FakeQueryRequest, FakeResult> OnQuery { get; set; }

    public FakeTable Table { get; } = new();

    /// <summary>How far back the table's change history reaches (its time-travel window), from <see cref="FakeTable.Clock"/>'s now.</summary>
    public TimeSpan TimeTravelWindow { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Server-side page cap of table answers.</summary>
    public int? TableRowsPerPage { get; set; }

    /// <summary>Fixed bytes for table answers; null (the default) bills as BigQuery does (<see cref="Billing"/>).</summary>
    public long? TableBytesProcessed { get; set; }

    public long? TableBytesBilled { get; set; }

    public IReadOnlyList<RecordedRequest> Requests
    {
        get
        {
            lock (gate)
            {
                return [.. requests];
            }
        }
    }

    public IReadOnlyList<RecordedRequest> Queries => [.. Requests.Where(r => r.Call == FakeCall.Query)];

    public static async Task<FakeBigQuery> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var fake = new FakeBigQuery(app);
        app.MapPost("/bigquery/v2/projects/{project}/queries", (HttpContext context, string project) => fake.HandleAsync(context, FakeCall.Query, project, null));
        app.MapGet("/bigquery/v2/projects/{project}/queries/{jobId}", (HttpContext context, string project, string jobId) => fake.HandleAsync(context, FakeCall.Results, project, jobId));
        app.MapGet("/bigquery/v2/projects/{project}/jobs/{jobId}", (HttpContext context, string project, string jobId) => fake.HandleAsync(context, FakeCall.Job, project, jobId));
        await app.StartAsync();
        fake.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
        return fake;
    }

    /// <summary>The next <paramref name="times"/> calls of that kind answer with a Google error body.</summary>
    public void FailNext(FakeCall call, int status, string? reason, string message = "scripted failure", int times = 1, int? retryAfterSeconds = null)
    {
        lock (gate)
        {
            for (var i = 0; i < times; i++)
            {
                script.Add(new Scripted(call, status, reason, message, null, false, retryAfterSeconds));
            }
        }
    }

    /// <summary>The next call of that kind drops the connection without an answer.</summary>
    public void AbortNext(FakeCall call)
    {
        lock (gate)
        {
            script.Add(new Scripted(call, 0, null, null, null, true, null));
        }
    }

    /// <summary>The next call of that kind waits this long before it is answered normally.</summary>
    public void DelayNext(FakeCall call, TimeSpan delay)
    {
        lock (gate)
        {
            script.Add(new Scripted(call, 0, null, null, delay, false, null));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context, FakeCall call, string project, string? jobId)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        Scripted? step;
        lock (gate)
        {
            requests.Add(new RecordedRequest(context.Request.Method, context.Request.Path.Value ?? "", context.Request.QueryString.Value ?? "", headers, body));
            step = script.FirstOrDefault(s => s.Call == FakeCall.Any || s.Call == call);
            if (step is not null)
            {
                script.Remove(step);
            }
        }

        if (step is { Abort: true })
        {
            context.Abort();
            return;
        }

        if (step is { Delay: { } delay })
        {
            await Task.Delay(delay, CancellationToken.None);
        }

        if (step is { Status: > 0 })
        {
            if (step.RetryAfterSeconds is { } seconds)
            {
                context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            }

            await WriteAsync(context, step.Status, Error(step.Status, step.Reason, step.Message!));
            return;
        }

        var (status, answer) = call switch
        {
            FakeCall.Query => Query(project, body),
            FakeCall.Results => Results(project, jobId!, context.Request.Query),
            _ => JobResource(project, jobId!),
        };
        await WriteAsync(context, status, answer);
    }

    private (int, JsonObject) Query(string project, string body)
    {
        var json = JsonNode.Parse(body)!.AsObject();
        var parameters = new Dictionary<string, (string, string?)>(StringComparer.Ordinal);
        foreach (var parameter in json["queryParameters"]?.AsArray() ?? [])
        {
            parameters[(string)parameter!["name"]!] = ((string)parameter["parameterType"]!["type"]!, (string?)parameter["parameterValue"]?["value"]);
        }

        var useInt64 = json["formatOptions"]?["useInt64Timestamp"]?.GetValue<bool>() ?? false;
        var request = new FakeQueryRequest((string)json["query"]!, parameters, json["maxResults"]?.GetValue<int>(), useInt64);
        FakeResult result;
        try
        {
            result = OnQuery(request);
        }
        catch (FakeQueryException e)
        {
            return (e.Status, Error(e.Status, e.Reason, e.Message));
        }

        var job = new Job("job_" + Guid.NewGuid().ToString("N")[..16], "q-" + Guid.NewGuid().ToString("N")[..12], (string?)json["location"] ?? "US", result)
        {
            Remaining = result.IncompleteAnswers,
        };
        lock (gate)
        {
            jobs[job.Id] = job;
        }

        var answer = new JsonObject { ["kind"] = "bigquery#queryResponse" };
        if (job.Remaining > 0)
        {
            job.Remaining--;
            answer["jobReference"] = Reference(project, job);
            answer["jobComplete"] = false;
            answer["queryId"] = job.QueryId;
            return (200, answer);
        }

        var more = Page(answer, job, 0, request.MaxResults);
        if (more || result.AlwaysCreateJob)
        {
            answer["jobReference"] = Reference(project, job);
        }

        answer["jobComplete"] = true;
        answer["totalBytesProcessed"] = Int64(result.BytesProcessed);
        answer["totalBytesBilled"] = Int64(result.BytesBilled);
        answer["cacheHit"] = result.CacheHit;
        answer["queryId"] = job.QueryId;
        return (200, answer);
    }

    private (int, JsonObject) Results(string project, string jobId, IQueryCollection query)
    {
        Job? job;
        lock (gate)
        {
            jobs.TryGetValue(jobId, out job);
        }

        if (job is null)
        {
            return (404, Error(404, "notFound", $"Not found: Job {project}:{jobId}"));
        }

        var answer = new JsonObject { ["kind"] = "bigquery#getQueryResultsResponse", ["jobReference"] = Reference(project, job) };
        if (job.Remaining > 0)
        {
            job.Remaining--;
            answer["jobComplete"] = false;
            return (200, answer);
        }

        var offset = query.TryGetValue("pageToken", out var token) ? Offset(token.ToString()) : 0;
        int? maxResults = query.TryGetValue("maxResults", out var max) ? int.Parse(max.ToString(), CultureInfo.InvariantCulture) : null;
        Page(answer, job, offset, maxResults);
        answer["jobComplete"] = true;
        answer["totalBytesProcessed"] = Int64(job.Result.BytesProcessed);
        answer["cacheHit"] = job.Result.CacheHit;
        return (200, answer);
    }

    private (int, JsonObject) JobResource(string project, string jobId)
    {
        Job? job;
        lock (gate)
        {
            jobs.TryGetValue(jobId, out job);
        }

        if (job is null)
        {
            return (404, Error(404, "notFound", $"Not found: Job {project}:{jobId}"));
        }

        return (200, new JsonObject
        {
            ["kind"] = "bigquery#job",
            ["id"] = $"{project}:{job.Location}.{job.Id}",
            ["jobReference"] = Reference(project, job),
            ["status"] = new JsonObject { ["state"] = "DONE" },
            ["statistics"] = new JsonObject
            {
                ["totalBytesProcessed"] = Int64(job.Result.BytesProcessed),
                ["query"] = new JsonObject
                {
                    ["totalBytesProcessed"] = Int64(job.Result.BytesProcessed),
                    ["totalBytesBilled"] = Int64(job.Result.BytesBilled),
                    ["cacheHit"] = job.Result.CacheHit,
                },
            },
        });
    }

    /// <summary>Adds schema, totalRows, rows and pageToken from <paramref name="offset"/>; true when rows remain after this page.</summary>
    private static bool Page(JsonObject answer, Job job, int offset, int? maxResults)
    {
        var result = job.Result;
        answer["schema"] = new JsonObject { ["fields"] = result.Fields.DeepClone() };
        answer["totalRows"] = Int64(result.Rows.Count);
        var take = Math.Min(maxResults ?? int.MaxValue, result.RowsPerPage ?? int.MaxValue);
        var rows = result.Rows.Skip(offset).Take(take).ToList();
        if (rows.Count > 0)
        {
            answer["rows"] = new JsonArray([.. rows.Select(r => r.DeepClone())]);
        }

        var next = offset + rows.Count;
        if (maxResults is not 0 && next < result.Rows.Count)
        {
            answer["pageToken"] = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{job.Id}/{next}"));
            return true;
        }

        return false;
    }

    private static int Offset(string token) =>
        int.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(token)).Split('/')[1], CultureInfo.InvariantCulture);

    private static JsonObject Reference(string project, Job job) =>
        new() { ["projectId"] = project, ["jobId"] = job.Id, ["location"] = job.Location };

    /// <summary>int64 fields travel as JSON strings.</summary>
    private static string Int64(long value) => value.ToString(CultureInfo.InvariantCulture);

    public static JsonObject Error(int status, string? reason, string message) => new()
    {
        ["error"] = new JsonObject
        {
            ["code"] = status,
            ["message"] = message,
            ["errors"] = reason is null ? new JsonArray() : new JsonArray(new JsonObject { ["message"] = message, ["domain"] = "global", ["reason"] = reason }),
            ["status"] = status switch
            {
                400 => "INVALID_ARGUMENT",
                401 => "UNAUTHENTICATED",
                403 => "PERMISSION_DENIED",
                404 => "NOT_FOUND",
                409 => "ALREADY_EXISTS",
                429 => "RESOURCE_EXHAUSTED",
                500 => "INTERNAL",
                _ => "UNAVAILABLE",
            },
        },
    };

    private static async Task WriteAsync(HttpContext context, int status, JsonObject body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=UTF-8";
        await context.Response.WriteAsync(body.ToJsonString(), CancellationToken.None);
    }

    // ---- the source table --------------------------------------------------------------------

    /// <summary>The source table's columns, with legacy and GoogleSQL type names mixed as BigQuery may report them.</summary>
    public static JsonArray TableFields() =>
    [
        Field("id", "STRING", "REQUIRED"),
        Field("insight", "STRING"),
        Field("module", "STRING", "NULLABLE"),
        Field("key", "STRING"),
        Field("filter", "STRING"),
        Field("date_from", "DATE"),
        Field("date_to", "DATE"),
        Field("payload", "JSON"),
        Field("version", "INTEGER"),
        Field("updated_at", "TIMESTAMP"),
        Field("deleted", "BOOLEAN"),
    ];

    /// <summary>BigQuery's smallest bill: 10 MB per query and per table it references.</summary>
    public const long MinimumBilledBytes = 10L * 1024 * 1024;

    /// <summary>
    /// What BigQuery on demand would process and bill for a query of the table: the bytes of the columns read, in the
    /// partitions (days of updated_at) at or after <paramref name="from"/>, and, for one tenant's query, only in that
    /// tenant's clustered blocks (taken as exactly its rows); billed by the MB, at least 10 MB.
    /// </summary>
    public static (long Processed, long Billed) Billing(IEnumerable<FakeTableRow> table, DateTimeOffset from, string? tenant)
    {
        var firstPartition = from.UtcDateTime.Date;
        var processed = table
            .Where(r => r.Model.UpdatedAt.UtcDateTime.Date >= firstPartition && (tenant is null || r.TenantId == tenant))
            .Sum(r => RowBytes(r));
        const long mb = 1024 * 1024;
        return (processed, Math.Max(MinimumBilledBytes, (processed + mb - 1) / mb * mb));
    }

    /// <summary>BigQuery's logical size of a row: STRING and JSON 2 + their UTF-8 bytes, INT64, TIMESTAMP and DATE 8, BOOL 1, NULL 0.</summary>
    public static long RowBytes(FakeTableRow row)
    {
        var m = row.Model;
        return Text(row.TenantId) + Text(m.Id) + Text(m.Insight) + Text(m.Module) + Text(m.Key) + Text(m.Filter)
            + (m.DateFrom is null ? 0 : 8) + (m.DateTo is null ? 0 : 8) + Text(m.PayloadJson) + 8 + 8 + 1;

        static long Text(string? value) => value is null ? 0 : 2 + System.Text.Encoding.UTF8.GetByteCount(value);
    }

    private FakeResult FromTable(FakeQueryRequest request)
    {
        if (ChangeHistory().Match(request.Sql) is { Success: true } change)
        {
            return ChangesFromTable(request, change);
        }

        if (request.Parameters.ContainsKey("since"))
        {
            return FleetFromTable(request);
        }

        var tenant = request.Parameters["tenantId"].Value;
        var afterAt = request.Parameters.TryGetValue("afterUpdatedAt", out var at) && at.Value is { } text
            ? DateTimeOffset.ParseExact(text, "yyyy-MM-dd HH:mm:ss.ffffffzzz", CultureInfo.InvariantCulture)
            : DateTimeOffset.MinValue;
        var afterId = request.Parameters.TryGetValue("afterId", out var id) ? id.Value ?? "" : "";
        var limit = int.Parse(request.Parameters["limit"].Value!, CultureInfo.InvariantCulture);
        List<FakeTableRow> table = [.. Table];

        var rows = table
            .Where(r => r.TenantId == tenant)
            .Select(r => r.Model)
            .Where(m => m.UpdatedAt > afterAt || (m.UpdatedAt == afterAt && string.CompareOrdinal(m.Id, afterId) > 0))
            .OrderBy(m => m.UpdatedAt).ThenBy(m => m.Id, StringComparer.Ordinal)
            .Take(limit)
            .Select(m => Row(
                m.Id, m.Insight, m.Module, m.Key, m.Filter,
                m.DateFrom?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), m.DateTo?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                m.PayloadJson, m.Version.ToString(CultureInfo.InvariantCulture),
                request.UseInt64Timestamp ? Micros(m.UpdatedAt) : FloatSeconds(m.UpdatedAt),
                m.Deleted ? "true" : "false"))
            .ToList();
        var (processed, billed) = Billing(table, afterAt, tenant);
        return new FakeResult
        {
            Fields = TableFields(),
            Rows = rows,
            RowsPerPage = TableRowsPerPage,
            BytesProcessed = TableBytesProcessed ?? processed,
            BytesBilled = TableBytesBilled ?? billed,
        };
    }

    /// <summary>A sweep's query: every tenant's rows updated at or after @since, ordered by updated_at, tenant_id, id.</summary>
    private FakeResult FleetFromTable(FakeQueryRequest request)
    {
        var since = DateTimeOffset.ParseExact(request.Parameters["since"].Value!, "yyyy-MM-dd HH:mm:ss.ffffffzzz", CultureInfo.InvariantCulture);
        List<FakeTableRow> table = [.. Table];

        var rows = table
            .Where(r => r.Model.UpdatedAt >= since)
            .OrderBy(r => r.Model.UpdatedAt).ThenBy(r => r.TenantId, StringComparer.Ordinal).ThenBy(r => r.Model.Id, StringComparer.Ordinal)
            .Select(r => Row(
                r.TenantId, r.Model.Id, r.Model.Insight, r.Model.Module, r.Model.Key, r.Model.Filter,
                r.Model.DateFrom?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), r.Model.DateTo?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                r.Model.PayloadJson, r.Model.Version.ToString(CultureInfo.InvariantCulture),
                request.UseInt64Timestamp ? Micros(r.Model.UpdatedAt) : FloatSeconds(r.Model.UpdatedAt),
                r.Model.Deleted ? "true" : "false"))
            .ToList();
        var (processed, billed) = Billing(table, since, null);
        var fields = TableFields();
        fields.Insert(0, Field("tenant_id", "STRING"));
        return new FakeResult
        {
            Fields = fields,
            Rows = rows,
            RowsPerPage = TableRowsPerPage,
            BytesProcessed = TableBytesProcessed ?? processed,
            BytesBilled = TableBytesBilled ?? billed,
        };
    }

    /// <summary><c>APPENDS(TABLE t, start, end)</c> or <c>CHANGES(…)</c>: start and end a named parameter or NULL.</summary>
    [System.Text.RegularExpressions.GeneratedRegex(
        @"\b(?<function>APPENDS|CHANGES)\s*\(\s*TABLE\s+`?(?<table>[A-Za-z0-9_.:-]+)`?\s*,\s*(?:@(?<start>\w+)|NULL)\s*,\s*(?:@(?<end>\w+)|NULL)\s*\)",
        System.Text.RegularExpressions.RegexOptions.IgnoreCase | System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex ChangeHistory();

    /// <summary>
    /// What BigQuery on demand bills for a read of the change history from <paramref name="from"/>: the bytes of the
    /// columns read of the rows committed in the window (the changed data), by the MB, at least 10 MB.
    /// </summary>
    public static (long Processed, long Billed) ChangeBilling(IEnumerable<FakeCommittedRow> table, DateTimeOffset from, DateTimeOffset? until)
    {
        var processed = table.Where(r => r.CommittedAt >= from && (until is null || r.CommittedAt <= until)).Sum(r => RowBytes(r.Row) + 8);
        const long mb = 1024 * 1024;
        return (processed, Math.Max(MinimumBilledBytes, (processed + mb - 1) / mb * mb));
    }

    /// <summary>
    /// A read of the table's change history: the rows committed at or after the start (and at or before the end), with
    /// tenant_id, the table's columns, _CHANGE_TYPE (INSERT: every write to this table appends) and _CHANGE_TIMESTAMP,
    /// ordered by _CHANGE_TIMESTAMP, tenant_id, id. CHANGES needs the table's change history option, which this table
    /// does not have; a start before the time-travel window is refused.
    /// </summary>
    private FakeResult ChangesFromTable(FakeQueryRequest request, System.Text.RegularExpressions.Match change)
    {
        var table = change.Groups["table"].Value;
        if (string.Equals(change.Groups["function"].Value, "CHANGES", StringComparison.OrdinalIgnoreCase))
        {
            throw new FakeQueryException(400, "invalidQuery",
                $"Table {table} must have the table option enable_change_history set to true to be read with the CHANGES table-valued function.");
        }

        DateTimeOffset? Bound(string group) => change.Groups[group].Success
            ? request.Parameters.TryGetValue(change.Groups[group].Value, out var value) && value.Value is { } text
                ? DateTimeOffset.ParseExact(text, "yyyy-MM-dd HH:mm:ss.ffffffzzz", CultureInfo.InvariantCulture)
                : throw new FakeQueryException(400, "invalidQuery", $"Query parameter '{change.Groups[group].Value}' not found")
            : null;
        var start = Bound("start");
        var end = Bound("end");
        var oldest = Table.Clock.GetUtcNow() - TimeTravelWindow;
        if (start is { } from && from < oldest)
        {
            throw new FakeQueryException(400, "invalidQuery",
                $"Invalid time travel timestamp {Micros(from)[..^3]} for table {table}@{Micros(from)[..^3]}. Cannot read before {Micros(oldest)[..^3]}");
        }

        var committed = Table.Snapshot();
        var rows = committed
            .Where(r => (start is null || r.CommittedAt >= start) && (end is null || r.CommittedAt <= end))
            .OrderBy(r => r.CommittedAt).ThenBy(r => r.Row.TenantId, StringComparer.Ordinal).ThenBy(r => r.Row.Model.Id, StringComparer.Ordinal)
            .Select(c => (c.Row.TenantId, c.Row.Model, c.CommittedAt))
            .Select(r => Row(
                r.TenantId, r.Model.Id, r.Model.Insight, r.Model.Module, r.Model.Key, r.Model.Filter,
                r.Model.DateFrom?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), r.Model.DateTo?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                r.Model.PayloadJson, r.Model.Version.ToString(CultureInfo.InvariantCulture),
                request.UseInt64Timestamp ? Micros(r.Model.UpdatedAt) : FloatSeconds(r.Model.UpdatedAt),
                r.Model.Deleted ? "true" : "false",
                "INSERT",
                request.UseInt64Timestamp ? Micros(r.CommittedAt) : FloatSeconds(r.CommittedAt)))
            .ToList();
        var (processed, billed) = ChangeBilling(committed, start ?? DateTimeOffset.MinValue, end);
        var fields = TableFields();
        fields.Insert(0, Field("tenant_id", "STRING"));
        fields.Add(Field("_CHANGE_TYPE", "STRING"));
        fields.Add(Field("_CHANGE_TIMESTAMP", "TIMESTAMP"));
        return new FakeResult
        {
            Fields = fields,
            Rows = rows,
            RowsPerPage = TableRowsPerPage,
            BytesProcessed = TableBytesProcessed ?? processed,
            BytesBilled = TableBytesBilled ?? billed,
        };
    }

    // ---- cell encoding helpers for tests ------------------------------------------------------

    public static JsonObject Field(string name, string type, string? mode = null, params JsonObject[] fields)
    {
        var field = new JsonObject { ["name"] = name, ["type"] = type };
        if (mode is not null)
        {
            field["mode"] = mode;
        }

        if (fields.Length > 0)
        {
            field["fields"] = new JsonArray([.. fields]);
        }

        return field;
    }

    /// <summary>A row: each value is null, a string, a <see cref="Repeated"/> array or a <see cref="Record"/>.</summary>
    public static JsonObject Row(params object?[] values) => Record(values);

    public static JsonArray Repeated(params object?[] values) => new([.. values.Select(Cell)]);

    public static JsonObject Record(params object?[] values) => new() { ["f"] = new JsonArray([.. values.Select(Cell)]) };

    private static JsonObject Cell(object? value) => new()
    {
        ["v"] = value switch
        {
            null => null,
            string text => text,
            JsonNode node => node,
            _ => throw new ArgumentException($"A cell value must be null, a string or a JSON node; got {value.GetType().Name}."),
        },
    };

    public static string Micros(DateTimeOffset value) =>
        ((value.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10).ToString(CultureInfo.InvariantCulture);

    /// <summary>Float seconds in scientific notation, as BigQuery writes TIMESTAMP without useInt64Timestamp.</summary>
    public static string FloatSeconds(DateTimeOffset value) =>
        ((value.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10_000_000m).ToString("0.0#####################E0", CultureInfo.InvariantCulture);

    private sealed record Scripted(FakeCall Call, int Status, string? Reason, string? Message, TimeSpan? Delay, bool Abort, int? RetryAfterSeconds);

    private sealed class Job(string id, string queryId, string location, FakeResult result)
    {
        public string Id => id;
        public string QueryId => queryId;
        public string Location => location;
        public FakeResult Result => result;
        public int Remaining { get; set; }
    }
}
