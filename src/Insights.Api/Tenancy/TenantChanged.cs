namespace Insights.Tenancy;

/// <summary>A tenant changed (renamed, suspended, resumed, moved, deleted): nodes drop their entry.</summary>
public sealed record TenantChanged(string TenantId);
