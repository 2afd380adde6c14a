namespace Insights.Ingestion;

/// <summary>Execute a queued fleet sweep (sent by the scheduler).</summary>
public sealed record StartSweep(Guid SweepId);
