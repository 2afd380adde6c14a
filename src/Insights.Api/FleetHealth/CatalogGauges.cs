using System.Diagnostics.Metrics;
using Insights.Ingestion;
using Insights.Messaging;
using Insights.Tenancy;

namespace Insights.FleetHealth;

/// <summary>
/// Fleet gauges from one catalog statement: tenants by status and store, the outbox backlog, ingestion lag, staleness.
/// No tenant schema is visited, and lag and staleness walk the fleet health view's indexes: they cost what lags.
/// </summary>
/// <remarks>
/// Read only when an exporter collects, at most once per <see cref="TelemetryOptions.CatalogGaugesMaxAge"/>, in the
/// background: a scrape answers from the last reading at once, and an outage leaves the last values. Scheduler nodes
/// only, as every node would report the same figures (docs/decisions/0015-one-scheduler.md).
/// </remarks>
internal sealed class CatalogGauges
{
    private const string Sql =
        $"""
        SELECT status, count(*), NULL::double precision FROM {TenantRows.Tenants} GROUP BY status
        UNION ALL
        SELECT 'store:' || name, tenants, NULL::double precision FROM {TenantRows.Stores}
        UNION ALL
        SELECT 'outbox', count(*), extract(epoch FROM now() - min(created_at))::double precision FROM {OutboxRows.Outbox}
        UNION ALL
        SELECT 'lagging',
               (SELECT count(*) FROM {IngestionRows.Cursors} c JOIN {TenantRows.Tenants} t ON t.id = c.tenant_id AND t.status = 'active'
                WHERE c.riding_since IS NULL AND coalesce(c.checked_at, c.created_at) < now() - make_interval(secs => $1))
             + (SELECT count(*) FROM {IngestionRows.Cursors} c JOIN {TenantRows.Tenants} t ON t.id = c.tenant_id AND t.status = 'active'
                WHERE c.riding_since IS NOT NULL AND coalesce(c.checked_at, c.created_at) < now() - make_interval(secs => $1)
                  AND coalesce(sweep.read_at, '-infinity') < now() - make_interval(secs => $1)),
               extract(epoch FROM now() - LEAST(
                   (SELECT coalesce(c.checked_at, c.created_at) FROM {IngestionRows.Cursors} c
                    WHERE c.riding_since IS NULL AND EXISTS (SELECT FROM {TenantRows.Tenants} t WHERE t.id = c.tenant_id AND t.status = 'active')
                    ORDER BY coalesce(c.checked_at, c.created_at) LIMIT 1),
                   GREATEST((SELECT coalesce(c.checked_at, c.created_at) FROM {IngestionRows.Cursors} c
                             WHERE c.riding_since IS NOT NULL AND EXISTS (SELECT FROM {TenantRows.Tenants} t WHERE t.id = c.tenant_id AND t.status = 'active')
                             ORDER BY coalesce(c.checked_at, c.created_at) LIMIT 1),
                            sweep.read_at)))::double precision
        FROM {IngestionRows.LastSweep} AS sweep
        UNION ALL
        SELECT stale.name, stale.tenants, NULL::double precision
        FROM (SELECT (SELECT count(*) FROM catalog.tenant_health h
                      WHERE coalesce(h.oldest_visible_at, 'infinity'::timestamptz) < now() - interval '5 minutes') AS m5,
                     (SELECT count(*) FROM catalog.tenant_health h
                      WHERE coalesce(h.oldest_visible_at, 'infinity'::timestamptz) < now() - interval '1 hour') AS h1,
                     (SELECT count(*) FROM catalog.tenant_health h
                      WHERE coalesce(h.oldest_visible_at, 'infinity'::timestamptz) < now() - interval '1 day') AS d1,
                     (SELECT count(*) FROM catalog.tenant_health h JOIN {TenantRows.Tenants} t ON t.id = h.tenant_id
                      WHERE coalesce(h.last_receive_at, '-infinity'::timestamptz) < now() - interval '1 hour'
                        AND t.status = 'active' AND coalesce(h.last_receive_at, t.created_at) < now() - interval '1 hour') AS silent) AS fleet
        CROSS JOIN LATERAL (VALUES ('visible_5m', fleet.m5), ('visible_1h', fleet.h1), ('visible_1d', fleet.d1), ('silent', fleet.silent))
            AS stale(name, tenants)
        """;

    private readonly CatalogDatabase dataSource;
    private readonly TimeProvider time;
    private readonly TimeSpan maxAge;
    private readonly TimeSpan lagThreshold;
    private readonly ILogger<CatalogGauges> logger;
    private Reading? last;
    private long readAt;
    private int reading;

    public CatalogGauges(
        InsightsMetrics metrics, CatalogDatabase dataSource, IOptions<TelemetryOptions> options, IOptions<IngestionRunOptions> ingestion,
        TimeProvider time, ILogger<CatalogGauges> logger)
    {
        this.dataSource = dataSource;
        this.time = time;
        this.logger = logger;
        maxAge = options.Value.CatalogGaugesMaxAge;
        // Lag over two scheduler intervals means at least one scheduled run did not reach the tenant's source.
        lagThreshold = ingestion.Value.Interval * 2;

        var meter = metrics.Meter;
        meter.CreateObservableGauge("insights.tenants", ObserveTenants, "{tenant}", "Tenants in the catalog, by status.");
        meter.CreateObservableGauge("insights.store.tenants", ObserveStores, "{tenant}", "Tenants placed on each tenant store (the count placement reads).");
        meter.CreateObservableGauge(
            "insights.outbox.backlog", () => Observe(r => r.OutboxRows), "{message}", "Commands and events written to the outbox and not yet relayed to the bus.");
        meter.CreateObservableGauge(
            "insights.outbox.oldest_age", () => Observe(r => r.OutboxOldestSeconds), "s", "Age of the oldest outbox row not yet relayed (0 when none waits).");
        meter.CreateObservableGauge(
            "insights.ingestion.tenants_lagging", () => Observe(r => r.TenantsLagging), "{tenant}",
            "Active tenants whose source ingestion has not read to its end for two Ingestion:Interval (since creation when never).");
        meter.CreateObservableGauge(
            "insights.ingestion.max_lag", () => Observe(r => r.MaxLagSeconds), "s",
            "The longest time since ingestion last read an active tenant's source to its end.");
        meter.CreateObservableGauge("insights.fleet.tenants_oldest_visible_over", ObserveStaleness, "{tenant}",
            "Tenants whose oldest visible message has waited for a receive longer than age (5m, 1h, 1d), as the fleet health view keeps it.");
        meter.CreateObservableGauge(
            "insights.fleet.clients_not_receiving", () => Observe(r => r.ClientsNotReceiving), "{tenant}",
            "Active tenants whose client has not received for an hour (since the tenant's creation when it never did).");
    }

    private sealed record Reading(
        IReadOnlyList<(string Status, long Count)> Tenants, IReadOnlyList<(string Store, long Count)> Stores, long OutboxRows, double OutboxOldestSeconds, long TenantsLagging, double MaxLagSeconds,
        long Visible5m, long Visible1h, long Visible1d, long ClientsNotReceiving);

    private IEnumerable<Measurement<long>> ObserveStaleness()
    {
        var reading = Current();
        return reading is null
            ? []
            :
            [
                new(reading.Visible5m, new KeyValuePair<string, object?>("age", "5m")),
                new(reading.Visible1h, new KeyValuePair<string, object?>("age", "1h")),
                new(reading.Visible1d, new KeyValuePair<string, object?>("age", "1d")),
            ];
    }

    private IEnumerable<Measurement<long>> ObserveStores() =>
        Current() is { } reading ? reading.Stores.Select(s => new Measurement<long>(s.Count, new KeyValuePair<string, object?>("store", s.Store))) : [];

    private IEnumerable<Measurement<long>> ObserveTenants()
    {
        var reading = Current();
        if (reading is null)
        {
            yield break;
        }

        // Every status is reported, 0 included, so a series does not vanish when its last tenant changes status.
        foreach (var status in TenantStatus.All)
        {
            var count = 0L;
            foreach (var (name, value) in reading.Tenants)
            {
                if (name == status)
                {
                    count = value;
                }
            }

            yield return new Measurement<long>(count, new KeyValuePair<string, object?>("status", status));
        }
    }

    private IEnumerable<Measurement<T>> Observe<T>(Func<Reading, T> value)
        where T : struct
    {
        var reading = Current();
        return reading is null ? [] : [new Measurement<T>(value(reading))];
    }

    /// <summary>The last reading; starts a new one in the background when it is older than the maximum age.</summary>
    private Reading? Current()
    {
        var current = Volatile.Read(ref last);
        if ((current is null || time.GetElapsedTime(Interlocked.Read(ref readAt)) >= maxAge) && Interlocked.CompareExchange(ref reading, 1, 0) == 0)
        {
            _ = Task.Run(RefreshAsync);
        }

        return current;
    }

    /// <summary>Reads the catalog now (the background refresh, and tests).</summary>
    internal async Task RefreshAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await using var command = dataSource.CreateCommand(Sql);
            command.Parameters.Add(new NpgsqlParameter { Value = lagThreshold.TotalSeconds });
            var tenants = new List<(string, long)>();
            var stores = new List<(string, long)>();
            long outbox = 0, lagging = 0, visible5m = 0, visible1h = 0, visible1d = 0, silent = 0;
            double oldest = 0, maxLag = 0;
            await using (var reader = await command.ExecuteReaderAsync(timeout.Token))
            {
                while (await reader.ReadAsync(timeout.Token))
                {
                    var name = reader.GetString(0);
                    var count = reader.GetInt64(1);
                    var seconds = reader.IsDBNull(2) ? 0 : Math.Max(0, reader.GetDouble(2));
                    switch (name)
                    {
                        case "outbox": (outbox, oldest) = (count, seconds); break;
                        case "lagging": (lagging, maxLag) = (count, seconds); break;
                        case "visible_5m": visible5m = count; break;
                        case "visible_1h": visible1h = count; break;
                        case "visible_1d": visible1d = count; break;
                        case "silent": silent = count; break;
                        case var store when store.StartsWith("store:", StringComparison.Ordinal): stores.Add((store["store:".Length..], count)); break;
                        default: tenants.Add((name, count)); break;
                    }
                }
            }

            Volatile.Write(ref last, new Reading(tenants, stores, outbox, oldest, lagging, maxLag, visible5m, visible1h, visible1d, silent));
            Interlocked.Exchange(ref readAt, time.GetTimestamp());
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or TimeoutException or InvalidOperationException)
        {
            // An outage is told by readiness and the pool's own log line; the gauges keep their last values meanwhile.
            logger.LogDebug(e, "Reading the catalog gauges failed");
            Interlocked.Exchange(ref readAt, time.GetTimestamp());
        }
        finally
        {
            Volatile.Write(ref reading, 0);
        }
    }
}
