using System.Diagnostics;
using Npgsql;

namespace Insights.Database;

/// <summary>
/// Renews the pool's connections when a statement fails on a value PostgreSQL refuses (SQLSTATE class 22).
/// </summary>
/// <remarks>
/// Npgsql (through 10.0.3) auto-prepares a statement on its fifth use on a connection by sending Parse with the Bind
/// in the same round trip. When PostgreSQL accepts the Parse and then refuses a parameter at Bind (a NUL in text,
/// invalid jsonb, an overflow), Npgsql still records the statement as prepared but without its row description, and
/// the next run of that SQL on that connection fails with "Received unexpected backend message DataRow". The edge
/// refuses such values before they reach SQL; should one still get through, every connection of the pool is renewed,
/// so a half-prepared statement serves at most the commands already waiting for that connection. Npgsql reports each
/// failed command through its activity source, synchronously and with the SQLSTATE, whatever the sampling, which
/// makes this the one place that sees every statement of every caller.
/// </remarks>
internal sealed class HalfPreparedStatementGuard : IHostedService, IDisposable
{
    private readonly ActivityListener listener;

    public HalfPreparedStatementGuard(NpgsqlDataSource dataSource, ILogger<HalfPreparedStatementGuard> logger)
    {
        listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Npgsql",
            // Propagation data is enough: the status and its SQLSTATE are set either way.
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.PropagationData,
            ActivityStopped = activity =>
            {
                if (activity.Status == ActivityStatusCode.Error && activity.StatusDescription is ['2', '2', _, _, _] sqlState)
                {
                    logger.LogWarning("A statement failed on a value PostgreSQL refused (SQLSTATE {SqlState}); the pool's connections are renewed", sqlState);
                    dataSource.Clear();
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
    }

    // Hosted so that it is created with the host, before any work starts; it listens until the host is disposed.
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => listener.Dispose();
}
