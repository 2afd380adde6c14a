namespace Insights.Ingestion;

/// <summary>
/// One model of the fleet's source, with the tenant it belongs to and, in a read by arrival, when it reached the source
/// (BigQuery: its commit time, <c>_CHANGE_TIMESTAMP</c>; Local: when its file was last written).
/// </summary>
public sealed record FleetRow(string TenantId, SourceModel Model, DateTimeOffset? ArrivedAt = null);
