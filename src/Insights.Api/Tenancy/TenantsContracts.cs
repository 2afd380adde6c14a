using System.Text.Json.Serialization;

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
    string Store,
    [property: JsonIgnore] uint Version = 0);

/// <summary>A tenant to provision; <c>Store</c> places it, by default on the store with fewest tenants.</summary>
public sealed record CreateTenantRequest(string? Id, string? Name, JsonElement? Settings, string? Store = null);

public sealed record UpdateTenantRequest(string? Name, string? Status, JsonElement? Settings);

/// <summary>
/// A move of a tenant's schema between stores, as <c>GET /tenants/{id}/moves/{moveId}</c> shows it. <c>Status</c>:
/// <c>queued</c>, <c>copying</c> (models), <c>switching</c> (the queue, writes held), <c>succeeded</c> or <c>failed</c>
/// (the tenant stays where it was, intact). <c>SwitchMs</c>: how long writes were held, when clients may get a 503.
/// </summary>
public sealed record TenantMoveResponse(
    Guid Id, string TenantId, string From, string To, string Status, string RequestedBy, DateTimeOffset RequestedAt,
    DateTimeOffset? StartedAt, DateTimeOffset? SwitchedAt, DateTimeOffset? FinishedAt, long ModelsCopied, long MessagesCopied,
    double? SwitchMs, string? Error);

public sealed record MoveTenantRequest(string? Store);

/// <summary>A move accepted: follow it at the answer's <c>Location</c>.</summary>
public sealed record MoveStarted(Guid MoveId);
