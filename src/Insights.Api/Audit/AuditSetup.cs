namespace Insights.Audit;

internal static class AuditSetup
{
    public static void AddAudit(this WebApplicationBuilder builder, RoleOptions roles)
    {
        var services = builder.Services;
        services.AddOptions<AuditOptions>().BindConfiguration(AuditOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<AuditTrail>();
        services.AddScoped<AuditScope>();
        services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationMiddlewareResultHandler, AuditedRefusals>();
        if (roles.Scheduler)
        {
            services.AddHostedService<AuditRetention>();
        }
    }
}
