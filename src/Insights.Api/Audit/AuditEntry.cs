namespace Insights.Audit;

/// <summary>One record of the audit trail as <c>GET /api/v1/audit</c> returns it.</summary>
public sealed record AuditEntry(
    long Id, DateTimeOffset At, string Subject, string? Name, string? Role, string? ClientAddress, string? RequestId, string? TenantId,
    string Action, string Outcome, string? Detail);
