namespace Insights.Audit;

internal static class AuditSetup
{
    public static void AddAudit(this WebApplicationBuilder builder) => builder.Services.AddSingleton<AuditTrail>();
}
