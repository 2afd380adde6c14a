using System.Diagnostics.Metrics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Insights.ServiceDefaults;

/// <summary>
/// OpenTelemetry, in the shape of eShop's service defaults: traces of ASP.NET Core, HttpClient (BigQuery, the identity
/// provider), Npgsql and MassTransit; metrics of the runtime, ASP.NET Core, Npgsql, MassTransit and the service's own
/// meter; OTLP export when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, and a Prometheus scrape endpoint.
/// </summary>
public static class TelemetrySetup
{
    public const string ServiceName = "insights";
    public const string MetricsPath = "/metrics";

    /// <summary>MassTransit's activity source and meter.</summary>
    private const string MassTransitSource = "MassTransit";

    public static void AddInsightsTelemetry(this WebApplicationBuilder builder, RoleOptions roles)
    {
        var services = builder.Services;
        services.AddOptions<TelemetryOptions>().BindConfiguration(TelemetryOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<InsightsMetrics>();

        var settings = builder.Configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions();
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource
                .AddService(ServiceName, autoGenerateServiceInstanceId: true)
                .AddAttributes([new("insights.roles", roles.ToString())]));

        if (settings.PrometheusEnabled || otlp)
        {
            telemetry.WithMetrics(metrics =>
            {
                metrics.AddRuntimeInstrumentation()
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddNpgsqlInstrumentation()
                    .AddMeter(MassTransitSource)
                    .AddMeter(InsightsMetrics.MeterName);
                if (settings.PrometheusEnabled)
                {
                    metrics.AddPrometheusExporter();
                }
            });
        }

        if (settings.Tracing ?? otlp)
        {
            telemetry.WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation(o => o.Filter = context => !IsOperations(context.Request.Path))
                .AddHttpClientInstrumentation()
                .AddNpgsql()
                .AddSource(MassTransitSource));
        }

        if (otlp)
        {
            // Logs go along, with their scopes (the tenant id among them), to the same collector.
            builder.Logging.AddOpenTelemetry(logging =>
            {
                logging.IncludeFormattedMessage = true;
                logging.IncludeScopes = true;
            });
            telemetry.UseOtlpExporter();
        }
    }

    /// <summary>
    /// On its own port, <c>/metrics</c> is answered before authentication and on that port only; call this before the
    /// rest of the pipeline.
    /// </summary>
    public static void UseInsightsMetricsPort(this WebApplication app)
    {
        var settings = app.Services.GetRequiredService<IOptions<TelemetryOptions>>().Value;
        if (settings.PrometheusEnabled && settings.PrometheusPort > 0)
        {
            var port = settings.PrometheusPort;
            app.UseOpenTelemetryPrometheusScrapingEndpoint(
                meterProvider: null,
                // The port the connection came in on, not the Host header, which any client chooses.
                predicate: context => context.Connection.LocalPort == port && context.Request.Path == MetricsPath,
                path: null,
                configureBranchedPipeline: null,
                optionsName: null);
        }
    }

    /// <summary>On the service's port, <c>/metrics</c> is for people (any role): a tenant token gets 403.</summary>
    public static void MapInsightsTelemetry(this WebApplication app)
    {
        AddDependencyGauge(app.Services);

        var settings = app.Services.GetRequiredService<IOptions<TelemetryOptions>>().Value;
        if (settings.PrometheusEnabled && settings.PrometheusPort == 0)
        {
            app.MapPrometheusScrapingEndpoint(MetricsPath)
                .RequireAuthorization(Policies.Viewer)
                .WithTags("Operations")
                .WithName("Metrics")
                .WithSummary("Prometheus text format of the service's metrics (a person's token, any role; or on Telemetry:PrometheusPort without one).");
        }
    }

    /// <summary>
    /// Whether this node reaches PostgreSQL and its broker, as it last found out (no statement or connection per
    /// collection): what the alerts on an unreachable dependency read, beside Prometheus' own <c>up</c>.
    /// </summary>
    private static void AddDependencyGauge(IServiceProvider services)
    {
        var guard = services.GetRequiredService<ConnectionPoolGuard>();
        var probes = services.GetServices<IDependencyProbe>().ToArray();
        var postgres = new KeyValuePair<string, object?>("dependency", "postgresql");
        services.GetRequiredService<InsightsMetrics>().Meter.CreateObservableGauge(
            "insights.dependency.up",
            () => probes.Select(p => new Measurement<int>(p.IsUp ? 1 : 0, new KeyValuePair<string, object?>("dependency", p.Dependency)))
                .Prepend(new Measurement<int>(guard.DatabaseReachable ? 1 : 0, postgres)),
            description: "1 while this node reaches the dependency (postgresql, rabbitmq: the bus's broker, always 1 on the in-memory bus), else 0.");
    }

    /// <summary>
    /// Tags the current span with the tenant it serves (the request's span on the api, the consume span on a worker).
    /// A trace attribute only: metrics never carry a tenant.
    /// </summary>
    public static void TagTenant(string tenantId) => Activity.Current?.SetTag(TenantAttribute, tenantId);

    public const string TenantAttribute = "tenant.id";

    private static bool IsOperations(PathString path) =>
        path.StartsWithSegments("/health", StringComparison.Ordinal) || path.StartsWithSegments(MetricsPath, StringComparison.Ordinal);
}
