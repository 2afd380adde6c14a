using System.Text.Json;

namespace Insights.Tenancy;

/// <summary>A tenant's schema is ready: published once per successful provisioning.</summary>
public sealed record TenantProvisioned(string TenantId, int SchemaVersion, DateTimeOffset ProvisionedAt);

/// <summary>A tenant's catalog row changed (renamed, suspended, resumed, deleted): every node drops what it cached of it.</summary>
public sealed record TenantChanged(string TenantId);

/// <summary>Runs on every node, on an endpoint of its own, so each node's tenant cache hears of every change.</summary>
public sealed class TenantChangedConsumer(TenantDirectory directory) : MassTransit.IConsumer<TenantChanged>
{
    public Task Consume(MassTransit.ConsumeContext<TenantChanged> context)
    {
        directory.Evict(context.Message.TenantId);
        return Task.CompletedTask;
    }
}

/// <summary>A tenant as the admin API shows it.</summary>
public sealed record TenantResponse(
    string Id,
    string Name,
    string Status,
    string? StatusReason,
    int SchemaVersion,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    JsonElement Settings,
    string Store);

/// <param name="Store">The store to place the tenant on; by default the one with fewest tenants.</param>
public sealed record CreateTenantRequest(string? Id, string? Name, JsonElement? Settings, string? Store = null);

public sealed record UpdateTenantRequest(string? Name, string? Status, JsonElement? Settings);
