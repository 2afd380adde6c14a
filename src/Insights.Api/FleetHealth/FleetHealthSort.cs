namespace Insights.FleetHealth;

/// <summary>The orders of the view, worst first.</summary>
public enum FleetHealthSort
{
    OldestVisibleAge,
    LastReceiveAt,
    Dead,
    ProcessingFailures,
    IngestionLag,
}
