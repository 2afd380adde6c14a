using System.ComponentModel.DataAnnotations;

namespace Insights.Database;

/// <summary>Settings of the PostgreSQL database (section <c>Database</c>; the connection string is <c>ConnectionStrings:Insights</c>).</summary>
public sealed class DatabaseOptions
{
    public const string Section = "Database";
    public const string ConnectionStringName = "Insights";

    /// <summary>Apply pending catalog migrations when the host starts.</summary>
    public bool MigrateOnStart { get; set; } = true;

    /// <summary>On a worker, bring tenant schemas that are behind up to date in the background after start.</summary>
    public bool MigrateTenantsOnStart { get; set; } = true;

    /// <summary>
    /// Connection lanes of tenant work. Each tenant's statements use the pool of its lane (a stable hash of its schema),
    /// so each PostgreSQL backend meets only about 1/<c>Lanes</c> of the tenants. Keep it the same on every node.
    /// </summary>
    [Range(1, 1024)]
    public int Lanes { get; set; } = 16;

    /// <summary>
    /// Connections of each lane's pool. PostgreSQL's memory for tenant work at worst is about
    /// nodes × <c>LanePoolSize</c> × tenants × 17 KB, whatever the number of lanes: a backend keeps what it learnt of
    /// each tenant of its lane.
    /// </summary>
    [Range(1, 1000)]
    public int LanePoolSize { get; set; } = 3;

    /// <summary>How long start-up waits for PostgreSQL to answer before it gives up.</summary>
    [Range(0, 600)]
    public int StartupWaitSeconds { get; set; } = 30;
}
