namespace Insights.Tenancy;

/// <summary>A tenant's schema is ready: published once per successful provisioning.</summary>
public sealed record TenantProvisioned(string TenantId, int SchemaVersion, DateTimeOffset ProvisionedAt);
