namespace Insights.FleetHealth;

/// <summary>One tenant's delivery and ingestion health, as the fleet health view shows it.</summary>
public sealed record TenantHealth(
    string TenantId,
    string Name,
    string Status,
    long Ready,
    long Leased,
    long Dead,
    double? OldestVisibleAgeSeconds,
    DateTimeOffset? OldestVisibleSince,
    DateTimeOffset? LastReceiveAt,
    DateTimeOffset? LastAckAt,
    long ProcessingFailures,
    double IngestionLagSeconds,
    DateTimeOffset IngestionReadAt,
    bool RidingSweep,
    string? LastIngestionError,
    DateTimeOffset? LastIngestionErrorAt);
