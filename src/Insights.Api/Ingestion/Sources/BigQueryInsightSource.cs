using System.Runtime.CompilerServices;
using Insights.BigQuery;
using Insights.Tenancy;

namespace Insights.Ingestion;

/// <summary>
/// Reads a tenant's models from BigQuery: one query per batch of <c>Ingestion:BigQuery:BatchSize</c> rows, paged by
/// BigQuery with <c>maxResults</c> = page size. A query that returned a full batch is followed by another one that
/// resumes after its last row. The tenant id is always a bound parameter.
/// </summary>
public sealed class BigQueryInsightSource(IBigQueryClient client, IOptions<InsightSourceOptions> options, ILogger<BigQueryInsightSource> logger)
    : IInsightSource
{
    public const string TablePlaceholder = "{table}";

    /// <summary>
    /// The default query over the contract's source table; <c>{table}</c> is <c>Ingestion:BigQuery:Table</c>.
    /// </summary>
    public const string DefaultQueryTemplate =
        """
        SELECT id, insight, module, `key`, `filter`, date_from, date_to, payload, version, updated_at, deleted
        FROM `{table}`
        WHERE tenant_id = @tenantId
          AND (updated_at > @afterUpdatedAt OR (updated_at = @afterUpdatedAt AND id > @afterId))
        ORDER BY updated_at, id
        LIMIT @limit
        """;

    /// <summary>
    /// The default query of a fleet sweep: every tenant's rows updated since <c>@since</c>. On a table partitioned by
    /// <c>updated_at</c> (clustered by <c>tenant_id</c>) it reads only the look-back window's partitions.
    /// </summary>
    public const string DefaultSweepQueryTemplate =
        """
        SELECT tenant_id, id, insight, module, `key`, `filter`, date_from, date_to, payload, version, updated_at, deleted
        FROM `{table}`
        WHERE updated_at >= @since
        ORDER BY updated_at, tenant_id, id
        """;

    /// <summary>
    /// A fleet sweep's query by arrival: the rows appended to the table since <c>@since</c> (commit time), from its change
    /// history (<c>APPENDS</c>, within the table's time-travel window), whatever their updated_at. <c>APPENDS</c> needs
    /// no table option and reads up to now; it sees inserts, loads and streamed rows, which is how the source table is
    /// written (a new version of a model is a new row) — docs/decisions/0024-sweep-by-arrival.md.
    /// </summary>
    public const string ArrivalSweepQueryTemplate =
        """
        SELECT tenant_id, id, insight, module, `key`, `filter`, date_from, date_to, payload, version, updated_at, deleted, _CHANGE_TIMESTAMP
        FROM APPENDS(TABLE `{table}`, @since, NULL)
        ORDER BY _CHANGE_TIMESTAMP, tenant_id, id
        """;

    // BigQuery's smallest TIMESTAMP: with an empty id it stands for "before everything" without a NULL parameter.
    private static readonly DateTimeOffset Beginning = new(1, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public string Sql
    {
        get
        {
            var source = options.Value.BigQuery;
            var template = string.IsNullOrWhiteSpace(source.QueryTemplate) ? DefaultQueryTemplate : source.QueryTemplate;
            return template.Replace(TablePlaceholder, source.Table?.Trim() ?? "", StringComparison.Ordinal);
        }
    }

    public string SweepSql
    {
        get
        {
            var source = options.Value.BigQuery;
            var template = string.IsNullOrWhiteSpace(source.SweepQueryTemplate) ? DefaultSweepQueryTemplate : source.SweepQueryTemplate;
            return template.Replace(TablePlaceholder, source.Table?.Trim() ?? "", StringComparison.Ordinal);
        }
    }

    public string ArrivalSweepSql =>
        ArrivalSweepQueryTemplate.Replace(TablePlaceholder, options.Value.BigQuery.Table?.Trim() ?? "", StringComparison.Ordinal);

    public TimeSpan? ArrivalWindow => options.Value.BigQuery.TimeTravelWindow;

    /// <summary>One query job for the whole fleet, paged by BigQuery (<c>maxResults</c> = page size).</summary>
    public IAsyncEnumerable<FleetPage> ReadFleetAsync(DateTimeOffset since, int pageSize, CancellationToken cancellationToken) =>
        ReadFleetAsync(SweepSql, byArrival: false, since, pageSize, cancellationToken);

    /// <summary>One query job over the table's change history (<see cref="ArrivalSweepQueryTemplate"/>).</summary>
    public IAsyncEnumerable<FleetPage> ReadFleetByArrivalAsync(DateTimeOffset since, int pageSize, CancellationToken cancellationToken) =>
        ReadFleetAsync(ArrivalSweepSql, byArrival: true, since, pageSize, cancellationToken);

    private async IAsyncEnumerable<FleetPage> ReadFleetAsync(
        string sql, bool byArrival, DateTimeOffset since, int pageSize, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        var query = new BigQueryQuery(sql)
        {
            PageSize = pageSize,
            Parameters = [BigQueryParameter.Timestamp("since", SourceTime.Truncate(since))],
        };

        var rows = 0L;
        (DateTimeOffset At, string TenantId, string Id)? previous = null;
        await foreach (var page in client.QueryAsync(query, cancellationToken))
        {
            var batch = new List<FleetRow>(page.Rows.Count);
            foreach (var row in page.Rows)
            {
                rows++;
                var model = ToModel(row, rows, page.JobId);
                var tenantId = row.Has("tenant_id") && row["tenant_id"] is string { Length: > 0 } text
                    ? text
                    : throw new InvalidDataException($"BigQuery row {rows} of job {page.JobId ?? "(none)"} has no tenant_id.");
                DateTimeOffset? arrivedAt = byArrival ? ArrivedAt(row, rows, page.JobId) : null;
                var key = (arrivedAt ?? model.UpdatedAt, tenantId, model.Id);
                // By arrival the same model may be appended twice in one commit: equal keys are in order.
                if (previous is { } before && Compare(before, key) is var order && (order > 0 || (order == 0 && !byArrival)))
                {
                    throw new InvalidDataException(byArrival
                        ? $"BigQuery row {rows} of job {page.JobId ?? "(none)"} (tenant '{tenantId}', id '{model.Id}', _CHANGE_TIMESTAMP {arrivedAt:O}) comes before the one before it: "
                            + "the change history must be read ordered by _CHANGE_TIMESTAMP, tenant_id, id."
                        : $"BigQuery row {rows} of job {page.JobId ?? "(none)"} (tenant '{tenantId}', id '{model.Id}', updated_at {model.UpdatedAt:O}) is not after the one before it: "
                            + "the sweep query must return rows ordered by updated_at, tenant_id, id (check Ingestion:BigQuery:SweepQueryTemplate).");
                }

                previous = key;
                batch.Add(new FleetRow(tenantId, model, arrivedAt));
            }

            var first = page.PageIndex == 0;
            if (batch.Count > 0 || (first && (page.TotalBytesProcessed > 0 || page.TotalBytesBilled > 0)))
            {
                yield return new FleetPage(batch, first ? page.TotalBytesProcessed : 0, first ? page.TotalBytesBilled : 0);
            }

            if (first)
            {
                logger.LogInformation(
                    "BigQuery sweep query ({ReadBy}): job {JobId}, {BytesProcessed} bytes processed, {BytesBilled} billed, cache hit {CacheHit}",
                    byArrival ? "by arrival" : "by updated_at", page.JobId ?? page.QueryId, page.TotalBytesProcessed, page.TotalBytesBilled, page.CacheHit);
            }
        }

        static int Compare((DateTimeOffset At, string TenantId, string Id) x, (DateTimeOffset At, string TenantId, string Id) y)
        {
            var order = x.At.CompareTo(y.At);
            if (order == 0)
            {
                order = string.CompareOrdinal(x.TenantId, y.TenantId);
            }

            return order != 0 ? order : string.CompareOrdinal(x.Id, y.Id);
        }
    }

    public async IAsyncEnumerable<SourcePage> ReadAsync(
        string tenantId, SourceCursor? after, int pageSize, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenantId);
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        var batchSize = Math.Max(options.Value.BigQuery.BatchSize, pageSize);
        var sql = Sql;
        var cursor = after;
        while (true)
        {
            var query = new BigQueryQuery(sql)
            {
                TenantId = tenantId,
                PageSize = pageSize,
                Parameters =
                [
                    BigQueryParameter.String("tenantId", tenantId),
                    BigQueryParameter.Timestamp("afterUpdatedAt", cursor is null ? Beginning : SourceTime.Truncate(cursor.UpdatedAt)),
                    BigQueryParameter.String("afterId", cursor?.Id ?? ""),
                    BigQueryParameter.Int64("limit", batchSize),
                ],
            };

            var rows = 0L;
            await foreach (var page in client.QueryAsync(query, cancellationToken))
            {
                var models = new List<SourceModel>(page.Rows.Count);
                foreach (var row in page.Rows)
                {
                    rows++;
                    var model = ToModel(row, rows, page.JobId);
                    // The cursor only works if rows come strictly after it and in order; a template that breaks this
                    // would make ingestion skip rows or loop over the same batch forever.
                    if (cursor is not null && !cursor.Precedes(model.UpdatedAt, model.Id))
                    {
                        throw new InvalidDataException(
                            $"BigQuery row {rows} of job {page.JobId ?? "(none)"} (id '{model.Id}', updated_at {model.UpdatedAt:O}) is not after the one before it: "
                            + "the query must return rows strictly after @afterUpdatedAt/@afterId, ordered by updated_at, id (check Ingestion:BigQuery:QueryTemplate).");
                    }

                    cursor = SourceCursor.After(model);
                    models.Add(model);
                }

                var first = page.PageIndex == 0;
                if (models.Count > 0 || (first && (page.TotalBytesProcessed > 0 || page.TotalBytesBilled > 0)))
                {
                    yield return new SourcePage(models, first ? page.TotalBytesProcessed : 0, first ? page.TotalBytesBilled : 0);
                }

                if (first)
                {
                    logger.LogInformation(
                        "BigQuery query for tenant {TenantId}: job {JobId}, {BytesProcessed} bytes processed, {BytesBilled} billed, cache hit {CacheHit}",
                        tenantId, page.JobId ?? page.QueryId, page.TotalBytesProcessed, page.TotalBytesBilled, page.CacheHit);
                }
            }

            if (rows < batchSize)
            {
                yield break;
            }
        }
    }

    private static DateTimeOffset ArrivedAt(BigQueryRow row, long number, string? jobId) =>
        (row.Has("_CHANGE_TIMESTAMP") ? row["_CHANGE_TIMESTAMP"] : null) is DateTimeOffset at
            ? SourceTime.Truncate(at)
            : throw new InvalidDataException($"BigQuery row {number} of job {jobId ?? "(none)"} has no _CHANGE_TIMESTAMP (a TIMESTAMP): the sweep reads by arrival from the table's change history.");

    private static SourceModel ToModel(BigQueryRow row, long number, string? jobId)
    {
        return new SourceModel(
            RequiredText("id"),
            RequiredText("insight"),
            RequiredText("module"),
            Text("key"),
            Text("filter"),
            Date("date_from"),
            Date("date_to"),
            Payload(),
            Version(),
            SourceTime.Truncate(UpdatedAt()),
            Deleted());

        object? Get(string column) => row.Has(column) ? row[column] : throw Invalid($"the result has no column '{column}'");

        string? Text(string column) => Get(column) switch
        {
            null => null,
            string text => text,
            var other => throw Invalid($"column '{column}' is {other.GetType().Name}, expected a string"),
        };

        string RequiredText(string column) => Text(column) ?? throw Invalid($"column '{column}' is null");

        DateOnly? Date(string column) => Get(column) switch
        {
            null => null,
            DateOnly date => date,
            string text when DateOnly.TryParseExact(text, "yyyy-MM-dd", out var date) => date,
            var other => throw Invalid($"column '{column}' is not a date: '{other}'"),
        };

        long Version() => Get("version") switch
        {
            long version => version,
            string text when long.TryParse(text, out var version) => version,
            null => throw Invalid("column 'version' is null"),
            var other => throw Invalid($"column 'version' is not an integer: '{other}'"),
        };

        DateTimeOffset UpdatedAt() => Get("updated_at") switch
        {
            DateTimeOffset at => at,
            null => throw Invalid("column 'updated_at' is null"),
            var other => throw Invalid($"column 'updated_at' is not a TIMESTAMP: '{other}'"),
        };

        bool Deleted() => Get("deleted") switch
        {
            null => false,
            bool deleted => deleted,
            var other => throw Invalid($"column 'deleted' is not a BOOL: '{other}'"),
        };

        string Payload()
        {
            switch (Get("payload"))
            {
                case null:
                    return "{}";
                case JsonElement json:
                    return json.GetRawText();
                case string text:
                    try
                    {
                        JsonDocument.Parse(text).Dispose();
                        return text;
                    }
                    catch (JsonException e)
                    {
                        throw Invalid($"column 'payload' is not JSON ({e.Message})");
                    }

                default:
                    throw Invalid("column 'payload' is neither JSON nor a string");
            }
        }

        InvalidDataException Invalid(string problem) =>
            new($"BigQuery row {number} of job {jobId ?? "(none)"} does not fit the insight model source: {problem}.");
    }
}
