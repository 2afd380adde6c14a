namespace Insights.FleetHealth;

/// <summary>The fleet health view and the state behind it (section <c>FleetHealth</c>).</summary>
public sealed class FleetHealthOptions
{
    public const string Section = "FleetHealth";

    /// <summary>How often a node writes what its queue work did to each tenant (one statement, none if idle).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00", ErrorMessage = "Setting 'FleetHealth:FlushInterval' must be between 50 ms and 10 minutes.")]
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a tenant's counts must have stood still before the reconciliation (scheduler role) counts its queue
    /// exactly; longer than a flush interval, so that every node has written what it did before.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00", ErrorMessage = "Setting 'FleetHealth:ReconcileAfter' must be between 100 ms and 1 day.")]
    public TimeSpan ReconcileAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the reconciliation counts the tenants due and trims failures older than a day.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00", ErrorMessage = "Setting 'FleetHealth:ReconcileInterval' must be between 100 ms and 1 day.")]
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Tenants counted per pass of the reconciliation at most.</summary>
    [Range(1, 10_000, ErrorMessage = "Setting 'FleetHealth:ReconcileBatch' must be between 1 and 10000.")]
    public int ReconcileBatch { get; set; } = 200;
}
