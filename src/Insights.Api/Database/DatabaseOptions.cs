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

    /// <summary>How long start-up waits for PostgreSQL to answer before it gives up.</summary>
    [Range(0, 600)]
    public int StartupWaitSeconds { get; set; } = 30;
}
