using System.Globalization;
using System.Net;
using System.Reflection;
using Insights.Auth;
using Insights.BigQuery;
using Insights.Database;
using Insights.Http;
using Insights.Ingestion;
using Insights.IntegrationTests.Infrastructure;
using Insights.Messaging;
using Insights.OnlineInsights;
using Insights.ServiceDefaults;
using Insights.SmartLink;
using Microsoft.Extensions.Hosting;
using Xunit.Abstractions;
using static Insights.IntegrationTests.Deployment.RenderedManifests;

namespace Insights.IntegrationTests.Deployment;

/// <summary>
/// The rendered Kubernetes example overlay against the service: settings that exist and start a node, roles, probes and
/// ports that the node serves, the queues KEDA watches, and a grace period longer than the node's stop.
/// </summary>
public sealed class K8sManifestTests(ITestOutputHelper output) : OwnDatabaseTests
{
    private static readonly string[] Roles = ["api", "worker", "scheduler"];

    /// <summary>Variables of the .NET host and of OpenTelemetry's SDK, which are not settings of the service.</summary>
    private static readonly HashSet<string> HostVariables = new(StringComparer.Ordinal)
    {
        "ASPNETCORE_ENVIRONMENT", "ASPNETCORE_HTTP_PORTS", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_SERVICE_NAME",
        "OTEL_RESOURCE_ATTRIBUTES",
    };

    /// <summary>The options classes, by the configuration section they are bound to.</summary>
    private static readonly Dictionary<string, Type[]> Sections = new(StringComparer.OrdinalIgnoreCase)
    {
        [FluigIdentityOptions.Section] = [typeof(FluigIdentityOptions)],
        [BusOptions.Section] = [typeof(BusOptions)],
        [DatabaseOptions.Section] = [typeof(DatabaseOptions)],
        [HttpOptions.Section] = [typeof(HttpOptions)],
        [SmartLinkOptions.Section] = [typeof(SmartLinkOptions)],
        [OnlineInsightsOptions.Section] = [typeof(OnlineInsightsOptions)],
        [IngestionRunOptions.Section] = [typeof(IngestionRunOptions), typeof(InsightSourceOptions)],
        [BigQueryOptions.Section] = [typeof(BigQueryOptions)],
        [TelemetryOptions.Section] = [typeof(TelemetryOptions)],
        [OpenApiOptions.Section] = [typeof(OpenApiOptions)],
    };

    private readonly RenderedManifests manifests = Load();

    private YamlDotNet.RepresentationModel.YamlMappingNode Deployment(string role) => manifests.Named("Deployment", "insights-" + role);

    [Fact]
    public void Every_environment_variable_names_a_setting_of_the_service()
    {
        foreach (var role in Roles)
        {
            foreach (var name in manifests.Environment(Deployment(role)).Keys)
            {
                Assert.True(HostVariables.Contains(name) || IsSetting(name.Replace("__", ":", StringComparison.Ordinal)),
                    $"insights-{role}: environment variable {name} names no setting of the service.");
            }
        }
    }

    [Theory]
    [InlineData("Bus:RabbitMq:Host", true)]
    [InlineData("Ingestion:Local:Folder", true)]
    [InlineData("Telemetry:PrometheusPort", true)]
    [InlineData("Bus:RabbitMq:Hots", false)]
    [InlineData("Bus:RabbitMq", false)]
    [InlineData("Ingestion:Intervall", false)]
    [InlineData("ConnectionStrings:Other", false)]
    [InlineData("Metrics:Port", false)]
    public void The_setting_check_tells_real_settings_from_misspelt_ones(string key, bool real) => Assert.Equal(real, IsSetting(key));

    [Fact]
    public void Each_deployment_runs_valid_roles_and_one_scheduler_schedules_at_a_time()
    {
        foreach (var role in Roles)
        {
            var parsed = RoleOptions.Parse(manifests.Environment(Deployment(role))[RoleOptions.SettingName]);
            Assert.Equal(role, parsed.ToString());
        }

        var scheduler = Deployment("scheduler");
        Assert.Equal("1", Text(scheduler, "spec", "replicas"));
        Assert.Equal("Recreate", Text(scheduler, "spec", "strategy", "type"));
        Assert.DoesNotContain(manifests.OfKind("HorizontalPodAutoscaler").Concat(manifests.OfKind("ScaledObject")),
            o => Text(o, "spec", "scaleTargetRef", "name") == "insights-scheduler");

        Assert.Equal("insights-api", Text(manifests.Named("HorizontalPodAutoscaler", "insights-api"), "spec", "scaleTargetRef", "name"));
        Assert.Equal("insights-worker", Text(manifests.Named("ScaledObject", "insights-worker"), "spec", "scaleTargetRef", "name"));
    }

    [Fact]
    public void Pods_stop_within_their_grace_period_and_are_non_root_with_limits()
    {
        // The host's stop (HostOptions.ShutdownTimeout, and the bus's own StopTimeout of the same length) after preStop.
        var shutdown = new HostOptions().ShutdownTimeout.TotalSeconds;
        foreach (var role in Roles)
        {
            var deployment = Deployment(role);
            var container = Container(deployment);
            var grace = int.Parse(Text(deployment, "spec", "template", "spec", "terminationGracePeriodSeconds")!, CultureInfo.InvariantCulture);
            var preStop = int.Parse(Text(container, "lifecycle", "preStop", "sleep", "seconds") ?? "0", CultureInfo.InvariantCulture);
            Assert.True(grace > preStop + shutdown, $"insights-{role}: grace {grace} s is not longer than preStop {preStop} s + shutdown {shutdown} s.");

            Assert.Equal("true", Text(deployment, "spec", "template", "spec", "securityContext", "runAsNonRoot"));
            Assert.Equal("false", Text(container, "securityContext", "allowPrivilegeEscalation"));
            foreach (var kind in new[] { "requests", "limits" })
            {
                Assert.NotNull(Text(container, "resources", kind, "cpu"));
                Assert.NotNull(Text(container, "resources", kind, "memory"));
            }
        }

        foreach (var budget in manifests.OfKind("PodDisruptionBudget"))
        {
            var component = Text(budget, "spec", "selector", "matchLabels", "app.kubernetes.io/component");
            Assert.Contains(component, Roles);
            // A drain during an outage (no pod ready) must not hang on the budget.
            Assert.Equal("AlwaysAllow", Text(budget, "spec", "unhealthyPodEvictionPolicy"));
        }

        foreach (var role in new[] { "api", "worker" })
        {
            var spread = Items(Deployment(role), "spec", "template", "spec", "topologySpreadConstraints").ToList();
            Assert.Equal(["kubernetes.io/hostname", "topology.kubernetes.io/zone"], spread.Select(c => Text(c, "topologyKey")));
            Assert.All(spread, c => Assert.Equal(role, Text(c, "labelSelector", "matchLabels", "app.kubernetes.io/component")));
        }
    }

    [Fact]
    public void The_pod_monitor_scrapes_every_role_on_its_metrics_port_as_the_rules_job()
    {
        var monitor = Assert.Single(manifests.OfKind("PodMonitor"));
        var selector = Entries(monitor, "spec", "selector", "matchLabels").ToDictionary(e => e.Key, e => ((YamlDotNet.RepresentationModel.YamlScalarNode)e.Value).Value);
        var endpoint = Assert.Single(Items(monitor, "spec", "podMetricsEndpoints"));
        foreach (var role in Roles)
        {
            var deployment = Deployment(role);
            var labels = Entries(deployment, "spec", "template", "metadata", "labels").ToDictionary(e => e.Key, e => ((YamlDotNet.RepresentationModel.YamlScalarNode)e.Value).Value);
            Assert.All(selector, s => Assert.Equal(s.Value, labels.GetValueOrDefault(s.Key)));
            Assert.Equal(Port(Container(deployment), "metrics"), Port(Container(deployment), Text(endpoint, "port")!));
            // The rules select job="insights": the job is the value of the pod label the monitor names.
            Assert.Equal("insights", labels.GetValueOrDefault(Text(monitor, "spec", "jobLabel")!));
        }

        Assert.Equal(TelemetrySetup.MetricsPath, Text(endpoint, "path"));
    }

    [Fact]
    public void The_prometheus_rule_holds_exactly_the_tested_alert_rules()
    {
        var rule = Assert.Single(manifests.OfKind("PrometheusRule"));
        var file = new YamlDotNet.RepresentationModel.YamlStream();
        using (var reader = new StreamReader(Path.Combine(RepositoryRoot(), "deploy", "prometheus", "insights-rules.yml")))
        {
            file.Load(reader);
        }

        var expected = Canonical(At(file.Documents[0].RootNode, "groups")!);
        Assert.True(
            expected == Canonical(At(rule, "spec", "groups")!),
            "deploy/k8s/components/monitoring/prometheus-rule.yaml differs from deploy/prometheus/insights-rules.yml: run scripts/prometheus-rule.sh.");

        static string Canonical(YamlDotNet.RepresentationModel.YamlNode node) => node switch
        {
            YamlDotNet.RepresentationModel.YamlScalarNode scalar => System.Text.Json.JsonSerializer.Serialize(scalar.Value),
            YamlDotNet.RepresentationModel.YamlSequenceNode sequence => "[" + string.Join(",", sequence.Children.Select(Canonical)) + "]",
            YamlDotNet.RepresentationModel.YamlMappingNode mapping =>
                "{" + string.Join(",", mapping.Children.Select(c => Canonical(c.Key) + ":" + Canonical(c.Value)).Order(StringComparer.Ordinal)) + "}",
            _ => "?",
        };
    }

    [Fact]
    public void Probe_and_service_ports_are_the_ones_the_node_listens_on()
    {
        foreach (var role in Roles)
        {
            var deployment = Deployment(role);
            var container = Container(deployment);
            var environment = manifests.Environment(deployment);
            var listening = environment["ASPNETCORE_HTTP_PORTS"].Split(';').Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToHashSet();
            var metricsPort = int.Parse(environment["Telemetry__PrometheusPort"], CultureInfo.InvariantCulture);

            Assert.Contains(metricsPort, listening);
            Assert.Equal(metricsPort, Port(container, "metrics"));
            Assert.Equal(metricsPort.ToString(CultureInfo.InvariantCulture), Text(deployment, "spec", "template", "metadata", "annotations", "prometheus.io/port"));
            Assert.Equal(TelemetrySetup.MetricsPath, Text(deployment, "spec", "template", "metadata", "annotations", "prometheus.io/path"));
            foreach (var probe in new[] { "startupProbe", "livenessProbe", "readinessProbe" })
            {
                var port = Port(container, Text(container, probe, "httpGet", "port")!);
                Assert.True(listening.Contains(port) && port != metricsPort, $"insights-{role}: {probe} probes port {port}, not the service's HTTP port.");
            }
        }

        var service = manifests.Named("Service", "insights-api");
        Assert.Equal("api", Text(service, "spec", "selector", "app.kubernetes.io/component"));
        foreach (var port in Items(service, "spec", "ports"))
        {
            Assert.Equal(8080, Port(Container(Deployment("api")), Text(port, "targetPort")!));
        }
    }

    /// <summary>Each role's node, started with the rendered settings (its infrastructure swapped for the tests'), answers its probes.</summary>
    [Fact]
    public async Task Each_role_starts_with_the_rendered_settings_and_answers_its_probes_and_metrics()
    {
        await using var virtualHost = await TestVirtualHost.CreateAsync();
        foreach (var role in Roles)
        {
            var deployment = Deployment(role);
            var container = Container(deployment);
            var environment = manifests.Environment(deployment);
            // What points at the environment's servers points at the tests' instead; everything else is as rendered.
            environment["ConnectionStrings__Insights"] = Database.ConnectionString;
            environment["Authentication__Authority"] = Authority.Issuer;
            environment["Authentication__RequireHttpsMetadata"] = "false";
            environment["Bus__RabbitMq__Host"] = virtualHost.Amqp.Host;
            environment["Bus__RabbitMq__Port"] = virtualHost.Amqp.Port.ToString(CultureInfo.InvariantCulture);
            environment["Bus__RabbitMq__VirtualHost"] = virtualHost.Name;
            environment["Bus__RabbitMq__Username"] = virtualHost.Username;
            environment["Bus__RabbitMq__Password"] = virtualHost.Password;
            environment.Remove("OTEL_EXPORTER_OTLP_ENDPOINT");
            // Ports of this machine that are free: the test host listens on them instead of 8080 and 9464.
            environment.Remove("ASPNETCORE_HTTP_PORTS");
            var metricsPort = HostProcess.FreePort();
            environment["Telemetry__PrometheusPort"] = metricsPort.ToString(CultureInfo.InvariantCulture);

            using var host = await HostProcess.StartAsync("k8s-" + role, environment, output, extraPorts: [metricsPort]);
            using var client = host.Client();
            foreach (var probe in new[] { "startupProbe", "livenessProbe", "readinessProbe" })
            {
                var path = Text(container, probe, "httpGet", "path")!;
                using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"insights-{role}: {probe} {path} answered {(int)response.StatusCode}.");
            }

            Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(new Uri(TelemetrySetup.MetricsPath, UriKind.Relative))).StatusCode);
            using var management = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{metricsPort}"), Timeout = TimeSpan.FromSeconds(30) };
            var metrics = await management.GetStringAsync(new Uri(TelemetrySetup.MetricsPath, UriKind.Relative));
            Assert.Contains("insights_dependency_up", metrics, StringComparison.Ordinal);

            if (role == "worker")
            {
                // The queues KEDA scales the workers on are the ones a worker consumes.
                var watched = manifests.OfKind("ScaledObject").SelectMany(o => Items(o, "spec", "triggers")).Select(t => Text(t, "metadata", "queueName")!).ToList();
                Assert.NotEmpty(watched);
                var queues = await virtualHost.QueueNamesAsync();
                Assert.All(watched, q => Assert.Contains(q, queues));
            }
        }
    }

    /// <summary>Whether <paramref name="key"/> (<c>Section:Key[:Key…]</c>) binds to a property of the service's settings.</summary>
    private static bool IsSetting(string key)
    {
        var parts = key.Split(':');
        if (parts is [var single] && string.Equals(single, RoleOptions.SettingName, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (parts is ["ConnectionStrings", var name])
        {
            return string.Equals(name, DatabaseOptions.ConnectionStringName, StringComparison.OrdinalIgnoreCase);
        }

        if (parts is ["Logging", "Console", "FormatterName"] or ["Logging", "LogLevel", _])
        {
            return true;
        }

        return parts.Length >= 2 && Sections.TryGetValue(parts[0], out var types) && types.Any(t => Binds(t, parts.AsSpan(1)));
    }

    private static bool Binds(Type type, ReadOnlySpan<string> path)
    {
        var property = type.GetProperty(path[0], BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
        if (property is null || property.SetMethod is not { IsPublic: true })
        {
            return false;
        }

        var target = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
        var scalar = target.IsPrimitive || target.IsEnum || target == typeof(string) || target == typeof(decimal) || target == typeof(TimeSpan);
        return path.Length == 1 ? scalar : !scalar && Binds(target, path[1..]);
    }
}
