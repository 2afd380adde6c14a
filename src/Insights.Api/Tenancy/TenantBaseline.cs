namespace Insights.Tenancy;

/// <summary>
/// <c>migrations/tenant/baseline.sql</c>: the schema the tenant migrations through <see cref="Through"/> build, in one
/// script whose first line names that migration (<c>-- baseline-through: 0003_queue_envelope_text.sql</c>).
/// </summary>
public sealed record TenantBaseline(TenantScript Through, string Sql);
