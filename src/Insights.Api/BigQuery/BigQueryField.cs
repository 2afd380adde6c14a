namespace Insights.BigQuery;

/// <summary>One column of a result schema; <see cref="Fields"/> holds the members of a RECORD.</summary>
public sealed record BigQueryField(string Name, BigQueryType Type, BigQueryMode Mode, string TypeName, IReadOnlyList<BigQueryField> Fields);
