namespace Insights.Auth;

public static class Policies
{
    public const string Admin = "Admin";
    public const string Tenant = "Tenant";
}
