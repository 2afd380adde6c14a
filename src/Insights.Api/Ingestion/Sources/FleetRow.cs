namespace Insights.Ingestion;

/// <summary>One model of the fleet's source, with the tenant it belongs to.</summary>
public sealed record FleetRow(string TenantId, SourceModel Model);
