namespace Insights.Database;

/// <summary>
/// Settings of the PostgreSQL database (section <c>Database</c>; the connection string is
/// <c>ConnectionStrings:Insights</c>).
/// </summary>
public sealed class DatabaseOptions
{
    public const string Section = "Database";
    public const string ConnectionStringName = "Insights";

    /// <summary>Apply pending catalog migrations when the host starts.</summary>
    public bool MigrateOnStart { get; set; } = true;

    /// <summary>On a worker, bring tenant schemas that are behind up to date in the background after start.</summary>
    public bool MigrateTenantsOnStart { get; set; } = true;

    /// <summary>
    /// Connection lanes of tenant work: a tenant's statements use its lane's pool (a stable hash of its schema), so a
    /// backend meets about 1/<c>Lanes</c> of the tenants. The same on every node.
    /// </summary>
    [Range(1, 1024)]
    public int Lanes { get; set; } = 16;

    /// <summary>
    /// Connections of each lane's pool. PostgreSQL's memory for tenant work grows with nodes × <c>LanePoolSize</c> ×
    /// tenants, whatever the number of lanes (docs/decisions/0011-tenant-affine-connection-lanes.md).
    /// </summary>
    [Range(1, 1000)]
    public int LanePoolSize { get; set; } = 3;

    /// <summary>How long start-up waits for PostgreSQL to answer before it gives up.</summary>
    [Range(0, 600)]
    public int StartupWaitSeconds { get; set; } = 30;
}
