namespace Insights.InsightModels;

internal static class InsightModelsSetup
{
    public static void AddInsightModels(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<InsightModelReader>();
        builder.Services.AddSingleton<Tenancy.ITenantLifecycle, InsightModelsTenantLifecycle>();
    }
}
