using System.Reflection;
using MassTransit;

namespace Insights.Messaging;

/// <summary>
/// How soon a receive endpoint tries its broker again after losing it. MassTransit's RabbitMQ transport retries with
/// pauses that grow from 3 to 30 s and never shrink again, and offers no setting for it: after an outage of half a
/// minute or more, consumers stay away for up to 30 s after the broker is back. This replaces that policy with a
/// steady one-second pause (MassTransit adds a second of its own), so consumers are back within about two seconds.
/// </summary>
/// <remarks>
/// The policy is a read-only property of MassTransit's RabbitMQ host configuration, read each time an endpoint starts;
/// it is set through reflection, for the version pinned in Directory.Packages.props. Should a later version move it,
/// nothing breaks: the node logs that it keeps MassTransit's own schedule, and the recovery test shows the difference.
/// </remarks>
internal static class BrokerReconnect
{
    public static readonly TimeSpan Pause = TimeSpan.FromSeconds(1);

    /// <summary>Applies the steady pause to the bus <paramref name="configurator"/> builds; false when it could not.</summary>
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
