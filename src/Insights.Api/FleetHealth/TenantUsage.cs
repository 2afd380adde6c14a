using Insights.Ingestion;
using Insights.SmartLink;

namespace Insights.FleetHealth;

/// <summary>What one tenant uses. Queue depth and ingestion totals join as those capabilities land.</summary>
public sealed record TenantUsage(string TenantId, string Status, long SchemaBytes, IReadOnlyList<TableUsage> Tables, QueueDepth? Queue, IngestionTotals Ingestion, DateTimeOffset MeasuredAt);
