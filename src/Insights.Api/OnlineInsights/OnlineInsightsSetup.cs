using MassTransit;

namespace Insights.OnlineInsights;

internal static class OnlineInsightsSetup
{
    public static void AddOnlineInsights(this WebApplicationBuilder builder, RoleOptions roles)
    {
        builder.Services.AddOptions<OnlineInsightsOptions>().BindConfiguration(OnlineInsightsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<SmartLink.IOnlineInsightRequestCheck, OnlineInsightRequestCheck>();
        if (roles.Worker)
        {
            // Scoped: a live answer resolves the BigQuery client from the consumer's scope.
            builder.Services.AddScoped<OnlineInsightAnswerer>();
        }
    }

    /// <summary>Consumers of the online insights capability (worker role).</summary>
    public static void AddConsumers(IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<GetOnlineInsightConsumer, GetOnlineInsightConsumerDefinition>();
        bus.AddConsumer<GetLiveOnlineInsightConsumer, GetLiveOnlineInsightConsumerDefinition>();
        bus.AddConsumer<OnlineInsightRequestedConsumer, OnlineInsightRequestedConsumerDefinition>();
    }
}
