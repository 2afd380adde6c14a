namespace Insights.Tenancy;

/// <summary>A tenant's catalog row changed (renamed, suspended, resumed, deleted): every node drops what it cached of it.</summary>
public sealed record TenantChanged(string TenantId);
