namespace Insights.Auth;

/// <summary>
/// The authorization policies; every endpoint declares one. People: the lowest role that may call it
/// (<see cref="PersonRole"/>); clients of a tenant: <see cref="Tenant"/>.
/// </summary>
public static class Policies
{
    public const string Admin = "Admin";
    public const string Operator = "Operator";
    public const string Viewer = "Viewer";
    public const string Tenant = "Tenant";

    public static readonly IReadOnlyDictionary<string, PersonRole> People = new Dictionary<string, PersonRole>
    {
        [Admin] = PersonRole.Admin,
        [Operator] = PersonRole.Operator,
        [Viewer] = PersonRole.Viewer,
    };
}
