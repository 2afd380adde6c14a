namespace Insights.BigQuery;

/// <summary>A decoded result row: values by column position or name (types in <see cref="BigQueryCells"/>).</summary>
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
