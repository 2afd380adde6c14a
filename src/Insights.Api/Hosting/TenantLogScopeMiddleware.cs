using Insights.Tenancy;

namespace Insights.Hosting;

/// <summary>Puts the tenant id (from the token or admin route) in the request's log scope and on its span.</summary>
internal sealed class TenantLogScopeMiddleware(RequestDelegate next, ILogger<TenantLogScopeMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context, TenantContext tenant)
    {
        var tenantId = tenant.IsResolved ? tenant.Current.Id : context.Request.RouteValues["tenantId"] as string;
        if (tenantId is null)
        {
            await next(context);
            return;
        }

        if (TenantId.IsValid(tenantId))
        {
            TelemetrySetup.TagTenant(tenantId);
        }

        using (logger.BeginScope("Tenant {TenantId}", tenantId))
        {
            await next(context);
        }
    }
}
