namespace Insights.Database;

/// <summary>A table of a tenant's schema: its rows (exact when few, else estimated) and bytes on disk.</summary>
public sealed record TableUsage(string Name, long Rows, bool RowsEstimated, long Bytes);
