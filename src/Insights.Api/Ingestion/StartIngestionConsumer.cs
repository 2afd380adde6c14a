using MassTransit;

namespace Insights.Ingestion;

public sealed class StartIngestionConsumer(IngestionRunner runner, IngestionRunsInFlight inFlight, IHostApplicationLifetime lifetime) : IConsumer<StartIngestion>
{
    public async Task Consume(ConsumeContext<StartIngestion> context)
    {
        // A stop interrupts the run at once: the page in hand rolls back and the next run resumes from the cursor.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        try
        {
            await inFlight.Track(runner.ExecuteAsync(context.Message.RunId, context.Message.TenantId, stop.Token));
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            // Recorded as interrupted; nothing to retry.
        }
    }
}

/// <summary>At most <see cref="IngestionRunOptions.MaxParallelTenants"/> runs at once on each worker.</summary>
public sealed class StartIngestionConsumerDefinition : ConsumerDefinition<StartIngestionConsumer>
{
    private readonly int limit;

    public StartIngestionConsumerDefinition(IOptions<IngestionRunOptions> options)
    {
        limit = options.Value.MaxParallelTenants;
        ConcurrentMessageLimit = limit;
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<StartIngestionConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.PrefetchCount = limit;
        // A database that is away for a moment delays the run instead of leaving it to the reaper.
        endpointConfigurator.UseMessageRetry(r =>
        {
            r.Handle<NpgsqlException>(e => e.IsTransient);
            r.Intervals(500, 2000, 5000);
        });
    }
}
