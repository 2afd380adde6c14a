namespace Insights.Tenancy;

public sealed record MigrationProgress(int Total, int Done, int Failed, string? TenantId);
