namespace Insights.Tenancy;

public static class TenantStatus
{
    public const string Provisioning = "provisioning";
    public const string Active = "active";
    public const string Suspended = "suspended";
    public const string Deprovisioning = "deprovisioning";
    public const string Failed = "failed";

    public static readonly string[] All = [Provisioning, Active, Suspended, Deprovisioning, Failed];
}
