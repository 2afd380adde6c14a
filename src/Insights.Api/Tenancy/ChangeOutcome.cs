namespace Insights.Tenancy;

public enum ChangeOutcome
{
    Done,
    NotFound,
    Conflict,

    /// <summary>If-Match named a version that is no longer current.</summary>
    Stale,
}
