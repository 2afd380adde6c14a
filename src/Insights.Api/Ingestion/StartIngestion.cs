namespace Insights.Ingestion;

/// <summary>Execute a queued ingestion run (sent by the admin API, the scheduler, and provisioning).</summary>
public sealed record StartIngestion(Guid RunId, string TenantId);
