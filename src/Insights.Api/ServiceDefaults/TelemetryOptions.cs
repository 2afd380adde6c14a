namespace Insights.ServiceDefaults;

/// <summary>
/// Traces and metrics (section <c>Telemetry</c>). OTLP export is configured by OpenTelemetry's own variables
/// (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, <c>OTEL_EXPORTER_OTLP_PROTOCOL</c>, <c>OTEL_SERVICE_NAME</c>, …).
/// </summary>
public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>Serve the Prometheus scrape endpoint <c>/metrics</c>.</summary>
    public bool PrometheusEnabled { get; set; } = true;

    /// <summary>
    /// 0: <c>/metrics</c> is on the service's port and needs an admin token (a tenant token gets 403). A port: it is
    /// served there only, without a token, and the service's other ports answer 404 — the host must listen on that
    /// port too (e.g. <c>ASPNETCORE_HTTP_PORTS=8080;9464</c>), and the network must keep it from clients.
    /// </summary>
    [Range(0, 65535)]
    public int PrometheusPort { get; set; }

    /// <summary>
    /// Record traces. Unset: only when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (a trace nobody exports costs each
    /// request and statement its spans for nothing).
    /// </summary>
    public bool? Tracing { get; set; }

    /// <summary>
    /// How old the catalog gauges (tenants by status, outbox backlog, ingestion lag) may be before a collection reads
    /// them again.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Setting 'Telemetry:CatalogGaugesMaxAge' must be between 1 second and 1 hour.")]
    public TimeSpan CatalogGaugesMaxAge { get; set; } = TimeSpan.FromSeconds(15);
}
