namespace Insights.Messaging;

/// <summary>
/// The outbox as other capabilities' statements name it (docs/decisions/0021-typed-seams-and-one-owner-per-table.md).
/// </summary>
public static class OutboxRows
{
    /// <summary>Commands and events waiting for the bus: <c>created_at</c>, <c>dedupe_key</c>, ….</summary>
    public const string Outbox = "catalog.outbox";
}
