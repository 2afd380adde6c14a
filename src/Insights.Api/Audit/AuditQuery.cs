namespace Insights.Audit;

/// <summary>The filters and the page of an audit read; <see cref="Before"/> is the last record of the previous page.</summary>
public sealed record AuditQuery(
    string? Tenant, string? Subject, string? Action, DateTimeOffset? Since, DateTimeOffset? Until, int Limit, (DateTimeOffset At, long Id)? Before);
