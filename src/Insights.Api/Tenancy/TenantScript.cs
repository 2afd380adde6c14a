namespace Insights.Tenancy;

/// <summary>One numbered script of <c>migrations/tenant</c>.</summary>
public sealed record TenantScript(string Name, int Number, string Sql);
