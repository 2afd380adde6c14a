using System.Diagnostics.Metrics;

namespace Insights.ServiceDefaults;

/// <summary>
/// The service's own meter (<c>Insights</c>): what the queue, online insights and ingestion did, as it happens. No
/// instrument carries a tenant, so the series do not grow with the fleet (per-tenant detail is in the fleet health).
/// </summary>
public sealed class InsightsMetrics : IDisposable
{
    public const string MeterName = "Insights";

    /// <summary>Online-insight histogram buckets in seconds: answers take milliseconds, the deadline is 10 s.</summary>
    private static readonly double[] OnlineBuckets =
        [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1, 2, 5, 10, 30];

    private readonly Meter meter;
    private readonly Counter<long> received;
    private readonly Counter<long> acked;
    private readonly Counter<long> ackRejected;
    private readonly Counter<long> nacked;
    private readonly Counter<long> leaseExpired;
    private readonly Counter<long> deadLettered;
    private readonly Counter<long> enqueued;
    private long longPollsWaiting;
    private readonly Histogram<double> onlineDuration;
    private readonly Counter<long> ingestionPages;
    private readonly Counter<long> ingestionRowsRead;
    private readonly Counter<long> ingestionRowsChanged;
    private readonly Counter<long> ingestionBilled;
    private readonly Counter<long> ingestionRuns;
    private readonly Histogram<double> sweepDuration;
    private readonly Counter<long> sweepArrivalFallbacks;
    private readonly Histogram<double> moveWritesHeld;

    public InsightsMetrics(IMeterFactory meters)
    {
        meter = meters.Create(MeterName);
        received = meter.CreateCounter<long>("insights.queue.received", "{message}", "Messages leased to clients by receive (each delivery counts).");
        acked = meter.CreateCounter<long>("insights.queue.acked", "{message}", "Deliveries acked by clients.");
        ackRejected = meter.CreateCounter<long>("insights.queue.ack_rejected", "{receipt}", "Ack receipts rejected: lease expired or superseded.");
        nacked = meter.CreateCounter<long>("insights.queue.nacked", "{message}", "Deliveries failed by clients; requeue tells whether they were made visible again.");
        leaseExpired = meter.CreateCounter<long>("insights.queue.lease_expired", "{message}", "Leases that ran out before an ack, found by the next receive.");
        deadLettered = meter.CreateCounter<long>("insights.queue.dead_lettered", "{message}", "Messages moved to the dead-letter queue, by reason (nack, max_deliveries).");
        enqueued = meter.CreateCounter<long>("insights.queue.enqueued", "{message}", "Messages committed to tenants' queues, by message type.");
        // Observed rather than added up, so the series is there (at 0) before the first long poll.
        meter.CreateObservableUpDownCounter(
            "insights.queue.long_polls", () => Interlocked.Read(ref longPollsWaiting), "{request}", "Receive requests waiting for a message on this node.");
        onlineDuration = meter.CreateHistogram(
            "insights.online_insight.duration", "s", "Online insights over HTTP, from the request to the answer, by source (store, live) and outcome.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = OnlineBuckets });
        ingestionPages = meter.CreateCounter<long>("insights.ingestion.pages", "{page}", "Ingestion pages committed.");
        ingestionRowsRead = meter.CreateCounter<long>("insights.ingestion.rows_read", "{row}", "Models read from the source in committed pages.");
        ingestionRowsChanged = meter.CreateCounter<long>("insights.ingestion.rows_changed", "{row}", "Models inserted or changed in committed pages.");
        ingestionBilled = meter.CreateCounter<long>("insights.ingestion.billed", "By", "Bytes the source billed (BigQuery bytes billed, or processed when it reports none).");
        sweepDuration = meter.CreateHistogram<double>(
            "insights.ingestion.sweep.duration", "s", "Fleet sweeps, from the start of the source read to their end, by status (succeeded, failed, interrupted).");
        sweepArrivalFallbacks = meter.CreateCounter<long>(
            "insights.ingestion.sweep.arrival_fallbacks", "{sweep}",
            "Sweeps set to read by arrival that read by updated_at instead: their watermark was older than the source's change history.");
        ingestionRuns = meter.CreateCounter<long>("insights.ingestion.runs", "{run}", "Ingestion runs finished, by status (succeeded, failed, interrupted).");
        moveWritesHeld = meter.CreateHistogram<double>(
            "insights.tenant.move.writes_held", "s",
            "Tenant moves between stores that ended on this node, by outcome (succeeded, failed): how long the tenant's writes were held (0 when the move failed before its switch).");
    }

    /// <summary>The meter itself, for observable instruments registered elsewhere.</summary>
    public Meter Meter => meter;

    public void Received(int messages, int expired, int dead)
    {
        if (messages > 0)
        {
            received.Add(messages);
        }

        if (expired > 0)
        {
            leaseExpired.Add(expired);
        }

        if (dead > 0)
        {
            deadLettered.Add(dead, new KeyValuePair<string, object?>("reason", "max_deliveries"));
        }
    }

    public void Acked(int messages, int rejected)
    {
        if (messages > 0)
        {
            acked.Add(messages);
        }

        if (rejected > 0)
        {
            ackRejected.Add(rejected);
        }
    }

    public void Nacked(bool requeue)
    {
        nacked.Add(1, new KeyValuePair<string, object?>("requeue", requeue ? "true" : "false"));
        if (!requeue)
        {
            deadLettered.Add(1, new KeyValuePair<string, object?>("reason", "nack"));
        }
    }

    /// <summary>
    /// Messages of one type committed to a queue; types are the service's few (InsightModel, OnlineInsightResponse).
    /// </summary>
    public void Enqueued(string type, int messages)
    {
        if (messages > 0)
        {
            enqueued.Add(messages, new KeyValuePair<string, object?>("type", type));
        }
    }

    public void LongPollStarted() => Interlocked.Increment(ref longPollsWaiting);

    public void LongPollEnded() => Interlocked.Decrement(ref longPollsWaiting);

    /// <summary>
    /// One online insight over HTTP: <paramref name="source"/> store or live; outcome found, not_found, error, timeout,
    /// unavailable.
    /// </summary>
    public void OnlineInsight(string source, string outcome, long startTimestamp) =>
        onlineDuration.Record(
            Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds,
            new KeyValuePair<string, object?>("source", source),
            new KeyValuePair<string, object?>("outcome", outcome));

    public void IngestionPage(int rowsRead, int rowsChanged, long bytesBilled)
    {
        ingestionPages.Add(1);
        ingestionRowsRead.Add(rowsRead);
        ingestionRowsChanged.Add(rowsChanged);
        IngestionBilled(bytesBilled);
    }

    public void IngestionBilled(long bytes)
    {
        if (bytes > 0)
        {
            ingestionBilled.Add(bytes);
        }
    }

    public void IngestionRunFinished(string status) => ingestionRuns.Add(1, new KeyValuePair<string, object?>("status", status));

    public void SweepFinished(string status, TimeSpan duration) =>
        sweepDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("status", status));

    public void SweepArrivalFallback() => sweepArrivalFallbacks.Add(1);

    public void TenantMoveFinished(string outcome, TimeSpan writesHeld) =>
        moveWritesHeld.Record(writesHeld.TotalSeconds, new KeyValuePair<string, object?>("outcome", outcome));

    public void Dispose() => meter.Dispose();
}
