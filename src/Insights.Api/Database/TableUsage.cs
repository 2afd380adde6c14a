namespace Insights.Database;

/// <summary>One table of a tenant's schema: its rows (exact when few, else PostgreSQL's estimate) and bytes on disk.</summary>
public sealed record TableUsage(string Name, long Rows, bool RowsEstimated, long Bytes);
