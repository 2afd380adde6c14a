using MassTransit;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Insights.Messaging;

internal static class BusSetup
{
    /// <summary>
    /// Configures MassTransit from <c>Bus</c>. Messages travel in MassTransit's envelope unless a sender picks raw JSON
    /// (headers as transport headers), which every endpoint also reads. <paramref name="consumers"/> are registered
    /// only on the worker role; <paramref name="nodeConsumers"/> on every node.
    /// </summary>
    public static void AddInsightsBus(
        this WebApplicationBuilder builder, RoleOptions roles, Action<IBusRegistrationConfigurator> nodeConsumers, params Action<IBusRegistrationConfigurator>[] consumers)
    {
        builder.Services.AddOptions<BusOptions>().BindConfiguration(BusOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        var options = builder.Configuration.GetSection(BusOptions.Section).Get<BusOptions>() ?? new BusOptions();

        builder.Services.AddOptions<MassTransitHostOptions>().Configure(o =>
        {
            // A node starts whether or not the broker answers: what needs only PostgreSQL (the SmartLink client API,
            // admin reads) serves at once, commands wait in the outbox, and the bus connects when the broker is back.
            o.WaitUntilStarted = false;
            o.StopTimeout = TimeSpan.FromSeconds(30);
        });
        builder.Services.AddSingleton<Outbox>();
        builder.Services.AddSingleton<BusMonitor>();
        builder.Services.AddHostedService(provider => provider.GetRequiredService<BusMonitor>());
        builder.Services.AddSingleton<ServiceDefaults.IDependencyProbe>(provider => provider.GetRequiredService<BusMonitor>());
        builder.Services.AddHostedService<OutboxRelay>();
        builder.Services.AddHealthChecks().AddCheck<BusHealthCheck>("bus", tags: [Health.Ready]);

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
                    if (!BrokerReconnect.Apply(cfg))
                    {
                        context.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(BusSetup))
                            .LogWarning("Receive endpoints keep MassTransit's own reconnect schedule (up to 30 s after the broker is back)");
                    }

                    Configure(cfg, context);
                });
            }
            else
            {
                x.UsingInMemory((context, cfg) => Configure(cfg, context));
            }
        });

        // MassTransit reports usage to its vendor unless told not to, and an environment variable can turn that back
        // on: the tracker is replaced so the service makes no call it was not configured to make.
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
