using MassTransit;

namespace Insights.Messaging;

/// <summary>Usage tracking that records and reports nothing.</summary>
internal sealed class NoUsageTracking : MassTransit.UsageTracking.IUsageTracker
{
    public void PreConfigureBus<T>(T configurator, IBusRegistrationContext context)
        where T : IBusFactoryConfigurator
    {
    }

    public void PreConfigureRider<T>(T configurator)
        where T : IRiderFactoryConfigurator
    {
    }
}
