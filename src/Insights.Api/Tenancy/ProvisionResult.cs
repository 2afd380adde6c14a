namespace Insights.Tenancy;

public sealed record ProvisionResult(ProvisionOutcome Outcome, TenantResponse? Tenant, string? Reason);
