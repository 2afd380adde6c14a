using System.Text.Json;

namespace Insights.Tenancy;

/// <summary>A tenant's schema is ready: published once per successful provisioning.</summary>
public sealed record TenantProvisioned(string TenantId, int SchemaVersion, DateTimeOffset ProvisionedAt);

/// <summary>A tenant as the admin API shows it.</summary>
public sealed record TenantResponse(
    string Id,
    string Name,
    string Status,
    string? StatusReason,
    int SchemaVersion,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    JsonElement Settings);

public sealed record CreateTenantRequest(string? Id, string? Name, JsonElement? Settings);

public sealed record UpdateTenantRequest(string? Name, string? Status, JsonElement? Settings);
