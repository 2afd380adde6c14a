using Insights.Hosting;
using MassTransit;

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
