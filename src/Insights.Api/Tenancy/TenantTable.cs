namespace Insights.Tenancy;

/// <summary>A table of a tenant's schema, as a move between stores copies it.</summary>
/// <param name="Name">The table's name in the schema.</param>
/// <param name="CopiedAtSwitch">
/// Copied in the switch, with the tenant's writes held (a table its clients write); else before it, as only ingestion,
/// which the move holds off, writes it.
/// </param>
/// <param name="SerialColumn">A serial column whose sequence continues after the rows copied.</param>
public sealed record TenantTable(string Name, bool CopiedAtSwitch, string? SerialColumn = null);
