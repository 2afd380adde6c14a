using System.Diagnostics.CodeAnalysis;

namespace Insights.BigQuery;

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
