namespace Insights.Audit;

/// <summary>Endpoint metadata: calls of this endpoint are audited as <paramref name="Action"/>.</summary>
public sealed record AuditedAction(string Action);
