using MassTransit;

namespace Insights.Ingestion;

public sealed class StartSweepConsumer(FleetSweepRunner runner, IngestionRunsInFlight inFlight, IHostApplicationLifetime lifetime) : IConsumer<StartSweep>
{
    public async Task Consume(ConsumeContext<StartSweep> context)
    {
        // A stopping host interrupts the sweep at once: the tenant page in hand rolls back, the next sweep reads again.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        try
        {
            await inFlight.Track(runner.ExecuteAsync(context.Message.SweepId, stop.Token));
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            // Recorded as interrupted; the next interval queues another sweep.
        }
    }
}

/// <summary>One sweep at a time on each worker (a second one would only wait for the sweep's lock).</summary>
public sealed class StartSweepConsumerDefinition : ConsumerDefinition<StartSweepConsumer>
{
    public StartSweepConsumerDefinition() => ConcurrentMessageLimit = 1;

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<StartSweepConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.PrefetchCount = 1;
        endpointConfigurator.UseMessageRetry(r =>
        {
            r.Handle<NpgsqlException>(e => e.IsTransient);
            r.Intervals(500, 2000, 5000);
        });
    }
}
