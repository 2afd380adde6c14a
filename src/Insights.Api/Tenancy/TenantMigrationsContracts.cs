namespace Insights.Tenancy;

public sealed record TenantMigrationFailure(string TenantId, string Error);

/// <summary>A run of "apply pending tenant migrations to every tenant", as stored in the catalog.</summary>
public sealed record TenantMigrationRun(
    Guid Id,
    string Status,
    string RequestedBy,
    DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt,
    int Total,
    int Succeeded,
    int Failed,
    IReadOnlyList<TenantMigrationFailure> Failures);

public sealed record TenantMigrationStatus(int LatestVersion, int TenantsBehind, TenantMigrationRun? LastRun);
