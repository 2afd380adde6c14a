namespace Insights.Audit;

public static class AuditExtensions
{
    /// <summary>Audits every call of the endpoint that reaches it as <paramref name="action"/> (<see cref="AuditFilter"/>).</summary>
    public static RouteHandlerBuilder Audited(this RouteHandlerBuilder endpoint, string action) => endpoint
        .WithMetadata(new AuditedAction(action))
        .AddEndpointFilter(new AuditFilter(action));
}
