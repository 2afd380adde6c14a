using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Insights.Messaging;

/// <summary>
/// Readiness of the bus: a node with the api role still serves what needs only PostgreSQL without it (degraded, still
/// ready); a worker or scheduler without its bus has nothing to do (not ready).
/// </summary>
internal sealed class BusHealthCheck(BusMonitor monitor, RoleOptions roles) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(
        HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(monitor.IsConnected
            ? HealthCheckResult.Healthy("The message bus is connected.")
            : roles.Api
                ? HealthCheckResult.Degraded(
                    "The message bus cannot reach its broker: the SmartLink client API and admin reads serve, commands wait in the outbox, online insights answer 503.")
                : HealthCheckResult.Unhealthy("The message bus cannot reach its broker."));
}
