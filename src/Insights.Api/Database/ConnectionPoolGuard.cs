using System.Collections.Concurrent;

namespace Insights.Database;

/// <summary>
/// Watches every statement and connection attempt through Npgsql's activity source and keeps the pool's connections
/// sound: it renews them when a statement failed on a value PostgreSQL refused (SQLSTATE class 22), and when a
/// connection turned out lost (the server restarted, or terminated the backends), and it logs a database outage, or a
/// database refusing new connections, once, not once per request.
/// </summary>
/// <remarks>
/// A value refused at Bind leaves Npgsql (through 10.0.3) with a half-prepared statement that fails the next run of
/// that SQL on that connection; an idle connection fails one request after a server restart. Npgsql's activity source
/// reports every failed command synchronously, so this is the one place that sees them all
/// (docs/decisions/0008-connection-pool-guard.md).
/// </remarks>
internal sealed class ConnectionPoolGuard : IHostedService, IDisposable
{
    /// <summary>Npgsql names the activity of opening a physical connection <c>CONNECT &lt;database&gt;</c>.</summary>
    private const string ConnectActivity = "CONNECT";

    private readonly ActivityListener listener;
    private readonly ConcurrentDictionary<string, long> refusingSince = new(StringComparer.Ordinal);
    private long downSince;

    public ConnectionPoolGuard(TenantDatabases connections, ILogger<ConnectionPoolGuard> logger)
    {
        listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Npgsql",
            // Propagation data is enough: the status and the error's type are set either way.
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.PropagationData,
            ActivityStopped = activity =>
            {
                // Per database: a password rotated on one store must not be taken back by connections to another.
                var connect = activity.OperationName.StartsWith(ConnectActivity, StringComparison.Ordinal) ? activity.OperationName : null;
                if (activity.Status != ActivityStatusCode.Error)
                {
                    if (Interlocked.Read(ref downSince) is not 0 and var since && Interlocked.CompareExchange(ref downSince, 0, since) == since)
                    {
                        logger.LogInformation("PostgreSQL answers again after {Seconds:0.0} s", Stopwatch.GetElapsedTime(since).TotalSeconds);
                    }

                    // Statements on pooled connections succeed while new connections are refused: only a connection
                    // opened ends the refusal.
                    if (connect is not null && refusingSince.TryRemove(connect, out var refusedAt))
                    {
                        logger.LogInformation("PostgreSQL accepts new connections again ({Connect}) after {Seconds:0.0} s", connect, Stopwatch.GetElapsedTime(refusedAt).TotalSeconds);
                    }

                    return;
                }

                var error = activity.GetTagItem("error.type") as string ?? activity.StatusDescription;
                if (error is ['2', '2', _, _, _])
                {
                    logger.LogWarning("A statement failed on a value PostgreSQL refused (SQLSTATE {SqlState}); the pool's connections are renewed", error);
                    connections.ClearAll();
                }
                else if (IsConnectionLost(error))
                {
                    if (Interlocked.CompareExchange(ref downSince, Stopwatch.GetTimestamp(), 0) == 0)
                    {
                        logger.LogWarning("A PostgreSQL connection was lost ({Error}); the pool's connections are renewed and requests answer 503 until it answers again", error);
                    }

                    connections.ClearAll();
                }
                else if (connect is not null && refusingSince.TryAdd(connect, Stopwatch.GetTimestamp()))
                {
                    // The server is up but refuses the session: a password rotated under the service (28P01), a role
                    // or rule gone (28000), the database gone (3D000) or closed to connections (55000), no connection
                    // left (53300). Pooled connections still serve; requests needing a new one answer 503.
                    logger.LogWarning("PostgreSQL refuses new connections ({Connect}: SQLSTATE {SqlState}); requests that need one answer 503 until it accepts them again", connect, error);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
    }

    /// <summary>
    /// Connection exceptions (class 08), the server shutting down or terminating the backend (57P01–57P03), or the
    /// socket failing under the statement.
    /// </summary>
    public static bool IsConnectionLost(string? error) => error is ['0', '8', _, _, _] or "57P01" or "57P02" or "57P03"
        or "System.IO.IOException" or "System.IO.EndOfStreamException" or "System.Net.Sockets.SocketException";

    /// <summary>
    /// Whether <paramref name="exception"/> means PostgreSQL cannot be reached or cannot take the work now (a lost or
    /// refused connection, the server shutting down or out of connections, the pool exhausted): something to retry,
    /// not a fault of the request.
    /// </summary>
    public static bool IsUnavailable(Exception exception) => exception switch
    {
        PostgresException postgres => IsConnectionLost(postgres.SqlState) || postgres.SqlState is ['5', '3', _, _, _] || IsSessionRefused(postgres),
        NpgsqlException npgsql => npgsql.IsTransient
            || npgsql.InnerException is TimeoutException or System.IO.IOException or System.Net.Sockets.SocketException or System.Security.Authentication.AuthenticationException
            || (npgsql.InnerException is { } cause && IsUnavailable(cause)),
        _ => exception.InnerException is { } inner && IsUnavailable(inner),
    };

    /// <summary>
    /// A <c>FATAL</c> error: the server refused the session or ended it, whatever the SQLSTATE — when connecting, a
    /// password rotated under the service (28P01), a role or <c>pg_hba.conf</c> rule gone (28000), the database gone
    /// (3D000) or closed to connections (55000), too many connections (53300), the server starting up (57P03); later,
    /// a backend terminated. A statement's own errors are <c>ERROR</c>, so a 55000 of a statement is not one of these.
    /// </summary>
    public static bool IsSessionRefused(PostgresException exception) => exception.InvariantSeverity is "FATAL" or "PANIC";

    /// <summary>
    /// False from a statement that found its connection lost until the next statement that succeeds (the relay, the
    /// notification listener and readiness keep trying meanwhile), and while a database refuses new connections, until
    /// one opens.
    /// </summary>
    public bool DatabaseReachable => Interlocked.Read(ref downSince) == 0 && refusingSince.IsEmpty;

    // Hosted so that it is created with the host, before any work starts; it listens until the host is disposed.
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => listener.Dispose();
}
