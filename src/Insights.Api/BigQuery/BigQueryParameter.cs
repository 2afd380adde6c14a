using System.Diagnostics.CodeAnalysis;

namespace Insights.BigQuery;

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
