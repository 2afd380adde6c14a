using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Encodings.Web;
using Google.Apis.Auth.OAuth2;

namespace Insights.BigQuery;

/// <summary>
/// BigQuery REST v2 over <see cref="HttpClient"/>: jobs.query, jobs.getQueryResults and jobs.get.
/// </summary>
/// <remarks>
/// Retries are a loop here, not an HttpClient resilience handler: transience depends on the body's reason (a 403 is
/// retried for <c>rateLimitExceeded</c> only), each jobs.query attempt needs a new <c>requestId</c>, and a failed job
/// (<c>jobBackendError</c>) means issuing the whole query again.
/// </remarks>
public sealed class BigQueryClient(HttpClient http, ITokenAccess tokens, IOptions<BigQueryOptions> options, ILogger<BigQueryClient> logger)
    : IBigQueryClient
{
    private static readonly MediaTypeHeaderValue Json = new("application/json") { CharSet = "utf-8" };

    // The body is never embedded in HTML: SQL quotes, '<', '>' and '+' travel as themselves, readable in any capture.
    private static readonly JsonWriterOptions Writer = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public async IAsyncEnumerable<BigQueryPage> QueryAsync(BigQueryQuery query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var settings = options.Value;
        var pageSize = query.PageSize ?? settings.PageSize;
        var first = await RunAsync(query, settings, pageSize, cancellationToken);
        var totals = first.Totals;
        var schema = first.Answer.Schema;
        yield return Page(first.Answer, 0);

        var pageToken = first.Answer.PageToken;
        for (var index = 1; pageToken is not null; index++)
        {
            if (first.Answer.JobId is not { } jobId)
            {
                throw new BigQueryException("BigQuery returned a page token without a job reference.", "invalidResponse", null, isRetryable: false);
            }

            Answer page;
            try
            {
                page = await GetResultsAsync(settings, jobId, first.Answer.Location, pageSize, pageToken, schema, cancellationToken);
            }
            catch (JobFailedException e)
            {
                // Pages were already handed out, so issuing the query again here would hand them out twice.
                throw new BigQueryException(
                    $"BigQuery job {jobId} failed while its results were being read ({e.Reason}): {e.Message}", e.Reason, e.StatusCode, isRetryable: true, e);
            }

            yield return Page(page, index);
            pageToken = page.PageToken;
        }

        BigQueryPage Page(Answer answer, int index) => new()
        {
            Schema = schema,
            Rows = answer.Rows,
            PageIndex = index,
            JobId = first.Answer.JobId,
            QueryId = first.Answer.QueryId,
            Location = first.Answer.Location,
            TotalRows = first.Answer.TotalRows ?? answer.TotalRows,
            TotalBytesProcessed = totals.Processed,
            TotalBytesBilled = totals.Billed,
            CacheHit = totals.CacheHit,
        };
    }

    /// <summary>
    /// Issues the query (again, with a new request id, when its job fails), waits for it and reads its first page.
    /// </summary>
    private async Task<(Answer Answer, Totals Totals)> RunAsync(BigQueryQuery query, BigQueryOptions settings, int pageSize, CancellationToken cancellationToken)
    {
        for (var issue = 0; ; issue++)
        {
            try
            {
                var answer = await SendAsync(
                    () => new HttpRequestMessage(HttpMethod.Post, ProjectUrl(settings, "queries")) { Content = QueryBody(query, settings, pageSize) },
                    Operation.Query, settings, schema: null, cancellationToken);
                var completedOnQuery = answer.Complete;
                answer = await WaitAsync(answer, settings, cancellationToken);
                if (!completedOnQuery)
                {
                    // Polling asked for no rows: read the first page now.
                    var polled = answer;
                    var firstPage = await GetResultsAsync(settings, polled.JobId!, polled.Location, pageSize, pageToken: null, polled.Schema, cancellationToken);
                    answer = firstPage with
                    {
                        JobId = firstPage.JobId ?? polled.JobId,
                        QueryId = polled.QueryId,
                        Location = firstPage.Location ?? polled.Location,
                        BytesProcessed = firstPage.BytesProcessed ?? polled.BytesProcessed,
                        CacheHit = firstPage.CacheHit || polled.CacheHit,
                    };
                }

                var totals = completedOnQuery
                    ? new Totals(answer.BytesProcessed ?? 0, answer.BytesBilled ?? answer.BytesProcessed ?? 0, answer.CacheHit)
                    : await JobTotalsAsync(settings, answer, cancellationToken);
                return (answer, totals);
            }
            catch (JobFailedException e) when (issue < settings.Retry.MaxJobRetries)
            {
                logger.LogWarning("BigQuery job failed ({Reason}); issuing the query again ({Issue} of {MaxIssues})", e.Reason, issue + 1, settings.Retry.MaxJobRetries);
            }
            catch (JobFailedException e)
            {
                throw new BigQueryException(
                    $"The BigQuery job failed {issue + 1} times ({e.Reason}): {e.Message}", e.Reason, e.StatusCode, isRetryable: true, e);
            }
        }
    }

    private async Task<Answer> WaitAsync(Answer answer, BigQueryOptions settings, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var delay = Math.Min(settings.Retry.InitialDelayMs, settings.Retry.MaxPollDelayMs);
        while (!answer.Complete)
        {
            if (answer.JobId is not { } jobId)
            {
                throw new BigQueryException("BigQuery answered that the query is still running but named no job.", "invalidResponse", null, isRetryable: false);
            }

            if (Stopwatch.GetElapsedTime(started).TotalSeconds > settings.Retry.DeadlineSeconds)
            {
                throw new BigQueryException(
                    $"BigQuery job {jobId} did not finish within {settings.Retry.DeadlineSeconds} s (BigQuery:Retry:DeadlineSeconds).", "timeout", null, isRetryable: true);
            }

            await Task.Delay(delay, cancellationToken);
            delay = (int)Math.Min(delay * settings.Retry.Multiplier, settings.Retry.MaxPollDelayMs);
            var next = await GetResultsAsync(settings, jobId, answer.Location, maxResults: 0, pageToken: null, schema: null, cancellationToken);
            answer = next with { JobId = next.JobId ?? jobId, QueryId = answer.QueryId, Location = next.Location ?? answer.Location };
        }

        return answer;
    }

    private Task<Answer> GetResultsAsync(
        BigQueryOptions settings, string jobId, string? location, int maxResults, string? pageToken, IReadOnlyList<BigQueryField>? schema, CancellationToken cancellationToken)
    {
        var url = new StringBuilder(ProjectUrl(settings, "queries/" + Uri.EscapeDataString(jobId)))
            .Append("?location=").Append(Uri.EscapeDataString(location ?? settings.Location))
            .Append("&maxResults=").Append(maxResults.ToString(CultureInfo.InvariantCulture))
            .Append("&timeoutMs=").Append(settings.TimeoutMs.ToString(CultureInfo.InvariantCulture))
            .Append("&formatOptions.useInt64Timestamp=true");
        if (pageToken is not null)
        {
            url.Append("&pageToken=").Append(Uri.EscapeDataString(pageToken));
        }

        var target = url.ToString();
        return SendAsync(() => new HttpRequestMessage(HttpMethod.Get, target), Operation.Results, settings, schema, cancellationToken);
    }

    /// <summary>
    /// getQueryResults carries no <c>totalBytesBilled</c>: a job that was polled has its bill read from jobs.get.
    /// When that fails for good, bytes processed stand in for it.
    /// </summary>
    private async Task<Totals> JobTotalsAsync(BigQueryOptions settings, Answer answer, CancellationToken cancellationToken)
    {
        var processed = answer.BytesProcessed ?? 0;
        var url = ProjectUrl(settings, "jobs/" + Uri.EscapeDataString(answer.JobId!)) + "?location=" + Uri.EscapeDataString(answer.Location ?? settings.Location);
        try
        {
            var job = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, url), Operation.Job, settings, schema: null, cancellationToken);
            return new Totals(job.BytesProcessed ?? processed, job.BytesBilled ?? job.BytesProcessed ?? processed, job.CacheHit || answer.CacheHit);
        }
        catch (BigQueryException e) when (!e.IsRetryable)
        {
            logger.LogWarning("BigQuery jobs.get failed ({Reason}); recording bytes processed as bytes billed", e.Reason);
            return new Totals(processed, processed, answer.CacheHit);
        }
    }

    private static string ProjectUrl(BigQueryOptions settings, string rest) =>
        $"{settings.BaseUrl.TrimEnd('/')}/bigquery/v2/projects/{Uri.EscapeDataString(settings.ProjectId ?? "")}/{rest}";

    /// <summary>Sends one call, retrying transient failures with backoff and jitter until the deadline.</summary>
    private async Task<Answer> SendAsync(
        Func<HttpRequestMessage> build, Operation operation, BigQueryOptions settings, IReadOnlyList<BigQueryField>? schema, CancellationToken cancellationToken)
    {
        var retry = settings.Retry;
        var started = Stopwatch.GetTimestamp();
        double backoff = retry.InitialDelayMs;
        for (var attempt = 1; ; attempt++)
        {
            string cause;
            string? reason;
            HttpStatusCode? status = null;
            TimeSpan? retryAfter = null;
            using var request = build();
            using var attemptTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attemptTimeout.CancelAfter(TimeSpan.FromSeconds(settings.HttpTimeoutSeconds));
            try
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await TokenAsync(attemptTimeout.Token));
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, attemptTimeout.Token);
                if (response.IsSuccessStatusCode)
                {
                    await using var body = await response.Content.ReadAsStreamAsync(attemptTimeout.Token);
                    using var document = await JsonDocument.ParseAsync(body, cancellationToken: attemptTimeout.Token);
                    return Answer.Read(document.RootElement, schema);
                }

                status = response.StatusCode;
                var error = await GoogleError.ReadAsync(response, attemptTimeout.Token);
                reason = error.Reason;
                switch (Classify(response.StatusCode, error.Reason))
                {
                    case Handling.ReissueQuery:
                        throw new JobFailedException(error.Message, error.Reason, response.StatusCode);
                    case Handling.Fail:
                        throw new BigQueryException(Describe(operation, response.StatusCode, error, settings), error.Reason, response.StatusCode, isRetryable: false);
                }

                cause = error.Message;
                retryAfter = response.Headers.RetryAfter?.Delta;
            }
            catch (HttpRequestException e) when (!cancellationToken.IsCancellationRequested)
            {
                (reason, cause) = ("network", e.Message);
            }
            catch (IOException e) when (!cancellationToken.IsCancellationRequested)
            {
                (reason, cause) = ("network", e.Message);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                (reason, cause) = ("timeout", $"no answer within {settings.HttpTimeoutSeconds} s (BigQuery:HttpTimeoutSeconds)");
            }
            catch (JsonException e)
            {
                throw new BigQueryException($"BigQuery answered with a body that is not valid JSON: {e.Message}", "invalidResponse", null, isRetryable: true, e);
            }

            var delay = Jitter(Math.Min(backoff, retry.MaxDelayMs));
            if (retryAfter is { } hint && hint.TotalMilliseconds > delay)
            {
                delay = Math.Min(hint.TotalMilliseconds, retry.MaxDelayMs);
            }

            var elapsed = Stopwatch.GetElapsedTime(started);
            if (elapsed.TotalMilliseconds + delay > retry.DeadlineSeconds * 1000.0)
            {
                var code = status is { } s ? $"HTTP {(int)s}, " : "";
                throw new BigQueryException(
                    $"BigQuery kept failing ({code}{reason}) for {elapsed.TotalSeconds:0} s over {attempt} attempts; giving up (BigQuery:Retry:DeadlineSeconds): {cause}",
                    reason, status, isRetryable: true);
            }

            logger.LogWarning(
                "BigQuery {Operation} attempt {Attempt} failed ({Reason}, HTTP {Status}); retrying in {DelayMs} ms",
                operation, attempt, reason, status is { } st ? (int)st : 0, (int)delay);
            await Task.Delay(TimeSpan.FromMilliseconds(delay), cancellationToken);
            backoff *= retry.Multiplier;
        }
    }

    private async Task<string> TokenAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await tokens.GetAccessTokenForRequestAsync(cancellationToken: cancellationToken);
        }
        catch (Exception e) when (e is not (OperationCanceledException or HttpRequestException or IOException))
        {
            throw new BigQueryException(
                "Could not get a Google access token for BigQuery: check BigQuery:CredentialsFile or the application default credentials "
                + $"(GOOGLE_APPLICATION_CREDENTIALS). {e.Message}", "credentials", null, isRetryable: false, e);
        }
    }

    // Equal jitter: half the backoff, plus a random share of the other half, so parallel clients spread out.
    private static double Jitter(double milliseconds) => milliseconds / 2 + (Random.Shared.NextDouble() * milliseconds / 2);

    internal enum Handling
    {
        Retry,
        ReissueQuery,
        Fail,
    }

    internal static Handling Classify(HttpStatusCode status, string? reason) => reason switch
    {
        "rateLimitExceeded" or "backendError" or "internalError" or "badGateway" => Handling.Retry,
        "jobRateLimitExceeded" or "jobBackendError" or "jobInternalError" => Handling.ReissueQuery,
        "quotaExceeded" or "accessDenied" or "invalid" or "invalidQuery" or "notFound" or "duplicate" => Handling.Fail,
        _ => status is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout or HttpStatusCode.InternalServerError
            or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout
            ? Handling.Retry
            : Handling.Fail,
    };

    private static string Describe(Operation operation, HttpStatusCode status, GoogleError error, BigQueryOptions settings) => error.Reason switch
    {
        "accessDenied" =>
            $"BigQuery denied access to project {settings.ProjectId}: check the service account's roles bigquery.jobUser and bigquery.dataViewer. {error.Message}",
        "quotaExceeded" => $"BigQuery quota exceeded: {error.Message}",
        "invalidQuery" or "invalid" when error.Message.Contains("bytes billed", StringComparison.OrdinalIgnoreCase) =>
            $"The query would bill more than BigQuery:MaximumBytesBilled ({settings.MaximumBytesBilled} bytes): {error.Message}",
        "invalidQuery" or "invalid" => $"Invalid query: {error.Message}",
        "bytesBilledLimitExceeded" =>
            $"The query would bill more than BigQuery:MaximumBytesBilled ({settings.MaximumBytesBilled} bytes): {error.Message}",
        "notFound" when operation == Operation.Query =>
            $"BigQuery table not found: {error.Message} (check the table name, and that BigQuery:Location '{settings.Location}' is the dataset's location).",
        "notFound" => $"BigQuery job not found: {error.Message}",
        "duplicate" => $"BigQuery reported a duplicate: {error.Message}",
        _ when status == HttpStatusCode.Unauthorized =>
            $"BigQuery rejected the credentials (HTTP 401): check BigQuery:CredentialsFile or the application default credentials. {error.Message}",
        _ when status == HttpStatusCode.Forbidden =>
            $"BigQuery refused the request (HTTP 403{(error.Reason is null ? "" : ", " + error.Reason)}): {error.Message}",
        _ => $"BigQuery failed (HTTP {(int)status}{(error.Reason is null ? "" : ", " + error.Reason)}): {error.Message}",
    };

    private static ByteArrayContent QueryBody(BigQueryQuery query, BigQueryOptions settings, int pageSize)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(buffer, Writer))
        {
            json.WriteStartObject();
            json.WriteString("query", query.Sql);
            // The server defaults to legacy SQL, which has no named parameters.
            json.WriteBoolean("useLegacySql", false);
            json.WriteString("parameterMode", "NAMED");
            json.WriteStartArray("queryParameters");
            foreach (var parameter in query.Parameters)
            {
                json.WriteStartObject();
                json.WriteString("name", parameter.Name);
                json.WriteStartObject("parameterType");
                json.WriteString("type", parameter.Type);
                json.WriteEndObject();
                json.WriteStartObject("parameterValue");
                if (parameter.Value is not null)
                {
                    json.WriteString("value", parameter.Value);
                }

                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteString("location", settings.Location);
            // uint32 fields are JSON numbers, int64 fields JSON strings.
            json.WriteNumber("maxResults", pageSize);
            json.WriteNumber("timeoutMs", settings.TimeoutMs);
            json.WriteString("jobCreationMode", "JOB_CREATION_OPTIONAL");
            // A new id per attempt: each attempt is a new request as far as BigQuery knows.
            json.WriteString("requestId", Guid.NewGuid().ToString());
            json.WriteStartObject("formatOptions");
            json.WriteBoolean("useInt64Timestamp", true);
            json.WriteEndObject();
            json.WriteString("maximumBytesBilled", settings.MaximumBytesBilled.ToString(CultureInfo.InvariantCulture));
            json.WriteStartObject("labels");
            var tenant = BigQueryLabels.Sanitize(query.TenantId);
            if (tenant.Length > 0)
            {
                json.WriteString("tenant", tenant);
            }

            json.WriteString("app", "insights");
            json.WriteEndObject();
            json.WriteEndObject();
        }

        var content = new ByteArrayContent(buffer.WrittenSpan.ToArray());
        content.Headers.ContentType = Json;
        return content;
    }

    internal enum Operation
    {
        Query,
        Results,
        Job,
    }

    private readonly record struct Totals(long Processed, long Billed, bool CacheHit);

    /// <summary>The part of a query, results or job response the client uses; rows already decoded.</summary>
    private sealed record Answer(
        bool Complete,
        string? JobId,
        string? Location,
        string? QueryId,
        IReadOnlyList<BigQueryField> Schema,
        IReadOnlyList<BigQueryRow> Rows,
        string? PageToken,
        long? TotalRows,
        long? BytesProcessed,
        long? BytesBilled,
        bool CacheHit)
    {
        public static Answer Read(JsonElement root, IReadOnlyList<BigQueryField>? knownSchema)
        {
            string? jobId = null, location = null;
            if (root.TryGetProperty("jobReference", out var reference) && reference.ValueKind == JsonValueKind.Object)
            {
                jobId = Text(reference, "jobId");
                location = Text(reference, "location");
            }

            var statistics = root.TryGetProperty("statistics", out var s) && s.ValueKind == JsonValueKind.Object ? s : default;
            var queryStatistics = statistics.ValueKind == JsonValueKind.Object && statistics.TryGetProperty("query", out var q) ? q : default;
            var complete = root.TryGetProperty("jobComplete", out var c) ? c.ValueKind == JsonValueKind.True
                : statistics.ValueKind == JsonValueKind.Object;
            var schema = root.TryGetProperty("schema", out var schemaElement) ? BigQueryCells.ReadSchema(schemaElement) : knownSchema ?? [];
            if (schema.Count == 0 && knownSchema is not null)
            {
                schema = knownSchema;
            }

            var rows = new List<BigQueryRow>();
            if (complete && root.TryGetProperty("rows", out var rowsElement) && rowsElement.ValueKind == JsonValueKind.Array)
            {
                var ordinals = BigQueryCells.Ordinals(schema);
                rows.Capacity = rowsElement.GetArrayLength();
                foreach (var row in rowsElement.EnumerateArray())
                {
                    rows.Add(BigQueryCells.ReadRow(row, schema, ordinals));
                }
            }

            return new Answer(
                complete,
                jobId,
                location,
                Text(root, "queryId"),
                schema,
                rows,
                Text(root, "pageToken"),
                Int64(root, "totalRows"),
                Int64(root, "totalBytesProcessed") ?? Int64(queryStatistics, "totalBytesProcessed") ?? Int64(statistics, "totalBytesProcessed"),
                Int64(root, "totalBytesBilled") ?? Int64(queryStatistics, "totalBytesBilled"),
                Bool(root, "cacheHit") || Bool(queryStatistics, "cacheHit"));
        }

        private static string? Text(JsonElement element, string name) =>
            element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
                ? value.GetString()
                : null;

        private static long? Int64(JsonElement element, string name)
        {
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out var value))
            {
                return null;
            }

            return value.ValueKind switch
            {
                JsonValueKind.String when long.TryParse(value.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) => parsed,
                JsonValueKind.Number when value.TryGetInt64(out var number) => number,
                _ => null,
            };
        }

        private static bool Bool(JsonElement element, string name) =>
            element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;
    }

    /// <summary>
    /// Google's error body: <c>{"error": {"code", "message", "errors": [{"reason", "message"}], "status"}}</c>.
    /// </summary>
    private sealed record GoogleError(string? Reason, string Message)
    {
        public static async Task<GoogleError> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
        {
            var fallback = $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}".TrimEnd();
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            try
            {
                using var document = JsonDocument.Parse(text);
                if (!document.RootElement.TryGetProperty("error", out var error) || error.ValueKind != JsonValueKind.Object)
                {
                    return new GoogleError(null, fallback);
                }

                string? reason = null, message = null;
                if (error.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array && errors.GetArrayLength() > 0)
                {
                    var firstError = errors[0];
                    reason = firstError.TryGetProperty("reason", out var r) ? r.GetString() : null;
                    message = firstError.TryGetProperty("message", out var m) ? m.GetString() : null;
                }

                if (error.TryGetProperty("message", out var top) && top.ValueKind == JsonValueKind.String)
                {
                    message = top.GetString();
                }

                return new GoogleError(reason, string.IsNullOrWhiteSpace(message) ? fallback : message);
            }
            catch (JsonException)
            {
                // A proxy's HTML page or similar: the status says enough.
                return new GoogleError(null, fallback);
            }
        }
    }

    /// <summary>The job itself failed; the query must be issued again with a new request id.</summary>
    private sealed class JobFailedException(string message, string? reason, HttpStatusCode statusCode) : Exception(message)
    {
        public string? Reason => reason;

        public HttpStatusCode StatusCode => statusCode;
    }
}
