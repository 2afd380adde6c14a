using System.Reflection;
using MassTransit;

namespace Insights.Messaging;

/// <summary>
/// How soon a receive endpoint tries its broker again after losing it: a steady pause instead of MassTransit's growing
/// schedule, which has no setting (docs/decisions/0010-hand-written-transactional-outbox.md).
/// </summary>
/// <remarks>
/// The policy is a read-only property of MassTransit's RabbitMQ host configuration, so it is set through reflection for
/// the pinned version. If a later version moves it nothing breaks: the node logs that it keeps MassTransit's schedule.
/// </remarks>
internal static class BrokerReconnect
{
    public static readonly TimeSpan Pause = TimeSpan.FromSeconds(1);

    /// <summary>Applies the steady pause to the bus <paramref name="configurator"/> builds; false if not.</summary>
    public static bool Apply(IRabbitMqBusFactoryConfigurator configurator)
    {
        var host = Field(configurator.GetType(), "_hostConfiguration")?.GetValue(configurator);
        var policy = host is null ? null : Field(host.GetType(), "<ReceiveTransportRetryPolicy>k__BackingField");
        if (policy is null || !policy.FieldType.IsAssignableFrom(typeof(IRetryPolicy)))
        {
            return false;
        }

        policy.SetValue(host, Retry.CreatePolicy(x =>
        {
            // Wrong credentials do not heal by waiting; everything else about a lost broker does.
            x.Ignore<RabbitMQ.Client.Exceptions.AuthenticationFailureException>();
            x.Incremental(int.MaxValue, Pause, TimeSpan.Zero);
        }));
        return true;
    }

    private static FieldInfo? Field(Type? type, string name)
    {
        for (; type is not null; type = type.BaseType)
        {
            if (type.GetField(name, BindingFlags.Instance | BindingFlags.NonPublic) is { } field)
            {
                return field;
            }
        }

        return null;
    }
}
