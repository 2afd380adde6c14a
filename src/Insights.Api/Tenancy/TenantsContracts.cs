using System.Text.Json;

namespace Insights.Tenancy;

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

/// <summary>A move of a tenant's schema between stores, as <c>GET /tenants/{id}/moves/{moveId}</c> shows it.</summary>
/// <param name="Status"><c>queued</c>, <c>copying</c> (models to the new store), <c>switching</c> (the queue, with the
/// tenant's writes held), <c>succeeded</c> or <c>failed</c> (the tenant stays where it was, intact).</param>
/// <param name="SwitchMs">How long the tenant's writes were held: its clients may have had a <c>503</c> then.</param>
public sealed record TenantMoveResponse(
    Guid Id, string TenantId, string From, string To, string Status, string RequestedBy, DateTimeOffset RequestedAt,
    DateTimeOffset? StartedAt, DateTimeOffset? SwitchedAt, DateTimeOffset? FinishedAt, long ModelsCopied, long MessagesCopied,
    double? SwitchMs, string? Error);

public sealed record MoveTenantRequest(string? Store);

/// <summary>A move accepted: follow it at the answer's <c>Location</c>.</summary>
public sealed record MoveStarted(Guid MoveId);
