using Insights.Hosting;
using MassTransit;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Insights.Messaging;

internal static class BusSetup
{
    /// <summary>
    /// Configures MassTransit from <c>Bus</c>. Messages travel in MassTransit's envelope unless a sender picks the raw
    /// JSON serializer (headers as transport headers, the body the message alone), which every endpoint also reads. Capabilities add their consumers through <paramref name="consumers"/>;
    /// they are registered only when this process runs the worker role. <paramref name="nodeConsumers"/> run on every node.
    /// </summary>
    public static void AddInsightsBus(
        this WebApplicationBuilder builder, RoleOptions roles, Action<IBusRegistrationConfigurator> nodeConsumers, params Action<IBusRegistrationConfigurator>[] consumers)
    {
        builder.Services.AddOptions<BusOptions>().BindConfiguration(BusOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        var options = builder.Configuration.GetSection(BusOptions.Section).Get<BusOptions>() ?? new BusOptions();

        builder.Services.AddOptions<MassTransitHostOptions>().Configure(o =>
        {
            o.WaitUntilStarted = true;
            o.StartTimeout = TimeSpan.FromSeconds(60);
            o.StopTimeout = TimeSpan.FromSeconds(30);
        });

        builder.Services.AddMassTransit(x =>
        {
            x.ConfigureUsageTelemetryOptions(o => o.Enabled = false);
            x.SetEndpointNameFormatter(new KebabCaseEndpointNameFormatter(
                string.IsNullOrEmpty(options.EndpointPrefix) ? null : options.EndpointPrefix, false));

            nodeConsumers(x);
            if (roles.Worker)
            {
                x.AddConsumer<PingConsumer>();
                foreach (var add in consumers)
                {
                    add(x);
                }
            }

            if (options.UsesRabbitMq)
            {
                x.UseDirectReplyToRequestClients();
                x.UsingRabbitMq((context, cfg) =>
                {
                    var rabbit = options.RabbitMq;
                    cfg.Host(rabbit.Host, (ushort)rabbit.Port, rabbit.VirtualHost, h =>
                    {
                        h.Username(rabbit.Username);
                        h.Password(rabbit.Password);
                    });
                    Configure(cfg, context);
                });
            }
            else
            {
                x.UsingInMemory((context, cfg) => Configure(cfg, context));
            }
        });

        // MassTransit reports usage to its vendor over the internet unless told not to, and an environment variable can
        // turn that back on. A service behind a firewall makes no call it was not configured to make: the tracker that
        // would report is replaced by one that does nothing, whatever the environment says.
        builder.Services.RemoveAll<MassTransit.UsageTracking.IUsageTracker>();
        builder.Services.AddSingleton<MassTransit.UsageTracking.IUsageTracker, NoUsageTracking>();

        // What every transport shares.
        void Configure<T>(IBusFactoryConfigurator<T> cfg, IBusRegistrationContext context)
            where T : IReceiveEndpointConfigurator
        {
            cfg.PrefetchCount = options.PrefetchCount;
            cfg.AddRawJsonSerializer(RawSerializerOptions.AddTransportHeaders);
            cfg.ConfigureEndpoints(context);
        }
    }
}

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
