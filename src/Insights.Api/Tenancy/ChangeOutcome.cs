namespace Insights.Tenancy;

public enum ChangeOutcome
{
    Done,
    NotFound,
    Conflict,
}
