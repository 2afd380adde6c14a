using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Insights.Tenancy;

namespace Insights.BigQuery;

/// <summary>Runs GoogleSQL queries on BigQuery and returns their result pages.</summary>
public interface IBigQueryClient
{
    /// <summary>
    /// Runs <paramref name="query"/> (jobs.query), waits for the job, then pages through the results
    /// (jobs.getQueryResults with <c>pageToken</c>). Transient failures are retried; a failed job is issued again
    /// until its first page is returned. Anything else throws <see cref="BigQueryException"/>.
    /// </summary>
    IAsyncEnumerable<BigQueryPage> QueryAsync(BigQueryQuery query, CancellationToken cancellationToken = default);
}

/// <summary>A GoogleSQL query with named parameters.</summary>
public sealed record BigQueryQuery(string Sql)
{
    public IReadOnlyList<BigQueryParameter> Parameters { get; init; } = [];

    /// <summary>The tenant the query runs for; it becomes the job's <c>tenant</c> label (sanitized), never SQL text.</summary>
    public string? TenantId { get; init; }

    /// <summary>Rows per page (<c>maxResults</c>); null means <see cref="BigQueryOptions.PageSize"/>.</summary>
    public int? PageSize { get; init; }
}

/// <summary>A named scalar query parameter; BigQuery takes every value as a string.</summary>
[SuppressMessage("Naming", "CA1720", Justification = "The factories are named after BigQuery's parameter types.")]
public sealed record BigQueryParameter(string Name, string Type, string? Value)
{
    public static BigQueryParameter String(string name, string? value) => new(name, "STRING", value);

    public static BigQueryParameter Int64(string name, long value) => new(name, "INT64", value.ToString(CultureInfo.InvariantCulture));

    public static BigQueryParameter Bool(string name, bool value) => new(name, "BOOL", value ? "true" : "false");

    public static BigQueryParameter Date(string name, DateOnly value) => new(name, "DATE", value.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));

    /// <summary>A TIMESTAMP in UTC with microseconds, e.g. <c>2026-01-01 00:00:00.000000+00:00</c>.</summary>
    public static BigQueryParameter Timestamp(string name, DateTimeOffset value) =>
        new(name, "TIMESTAMP", value.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture) + "+00:00");
}

/// <summary>One column of a result schema; <see cref="Fields"/> holds the members of a RECORD.</summary>
public sealed record BigQueryField(string Name, BigQueryType Type, BigQueryMode Mode, string TypeName, IReadOnlyList<BigQueryField> Fields);

/// <summary>Column types, with legacy and GoogleSQL names folded together.</summary>
[SuppressMessage("Naming", "CA1720", Justification = "BigQuery's own type names.")]
public enum BigQueryType
{
    /// <summary>A type this client does not know; values stay strings.</summary>
    Unknown,
    String,
    Bytes,
    Int64,
    Float64,
    Numeric,
    BigNumeric,
    Bool,
    Timestamp,
    Date,
    Time,
    DateTime,
    Geography,
    Json,
    Interval,
    Range,
    Record,
}

public enum BigQueryMode
{
    Nullable,
    Required,
    Repeated,
}

/// <summary>
/// One page of a query's results. The job totals (bytes, cache hit) are the same on every page of one query;
/// <see cref="PageIndex"/> 0 is the first page.
/// </summary>
public sealed class BigQueryPage
{
    public required IReadOnlyList<BigQueryField> Schema { get; init; }
    public required IReadOnlyList<BigQueryRow> Rows { get; init; }
    public required int PageIndex { get; init; }

    /// <summary>The job id; null for a short query BigQuery answered without creating a job.</summary>
    public string? JobId { get; init; }

    public string? QueryId { get; init; }
    public string? Location { get; init; }
    public long? TotalRows { get; init; }
    public long TotalBytesProcessed { get; init; }

    /// <summary>Bytes billed (from jobs.query or jobs.get); falls back to bytes processed when BigQuery did not say.</summary>
    public long TotalBytesBilled { get; init; }

    public bool CacheHit { get; init; }
}

/// <summary>A decoded result row: values by column position or name (see <see cref="BigQueryCells"/> for the CLR types).</summary>
public sealed class BigQueryRow(IReadOnlyList<BigQueryField> schema, IReadOnlyDictionary<string, int> ordinals, object?[] values)
{
    public IReadOnlyList<BigQueryField> Schema => schema;

    public IReadOnlyList<object?> Values => values;

    public object? this[int ordinal] => values[ordinal];

    /// <summary>The value of a column by name (case-insensitive); throws when the result has no such column.</summary>
    public object? this[string name] => ordinals.TryGetValue(name, out var i)
        ? values[i]
        : throw new KeyNotFoundException($"The query result has no column '{name}'.");

    public bool Has(string name) => ordinals.ContainsKey(name);
}
