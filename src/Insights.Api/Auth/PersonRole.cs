namespace Insights.Auth;

/// <summary>The roles of people, each allowed everything the lower ones are (<c>docs/architecture.md#roles</c>).</summary>
public enum PersonRole
{
    Viewer = 1,
    Operator = 2,
    Admin = 3,
}
