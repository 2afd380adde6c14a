using System.ComponentModel.DataAnnotations;

namespace Insights.Ingestion;

/// <summary>How runs are scheduled and paged (section <c>Ingestion</c>).</summary>
public sealed class IngestionRunOptions
{
    public const string Section = "Ingestion";

    /// <summary>How often the scheduler starts a run for every active tenant.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00", ErrorMessage = "Setting 'Ingestion:Interval' must be between 1 second and 7 days.")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Runs a worker executes at once.</summary>
    [Range(1, 64, ErrorMessage = "Setting 'Ingestion:MaxParallelTenants' must be between 1 and 64.")]
    public int MaxParallelTenants { get; set; } = 4;

    /// <summary>
    /// Models per page; each page is one transaction. 2,500 measured fastest (models/s of the ingest benchmark: 1,000 →
    /// ~23,000; 2,500 → median ~24,500, up to 32,000; 5,000 → 22,000–24,000; 10,000 → ~22,000).
    /// </summary>
    [Range(1, 50_000, ErrorMessage = "Setting 'Ingestion:PageSize' must be between 1 and 50000.")]
    public int PageSize { get; set; } = 2500;
}
