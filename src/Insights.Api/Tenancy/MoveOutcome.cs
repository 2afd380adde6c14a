namespace Insights.Tenancy;

public enum MoveOutcome
{
    Started,
    NotFound,
    Conflict,
}
