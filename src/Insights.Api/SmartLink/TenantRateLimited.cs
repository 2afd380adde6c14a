namespace Insights.SmartLink;

/// <summary>Marks endpoints whose requests count against the tenant's rate (<see cref="TenantRequestRate"/>).</summary>
public sealed class TenantRateLimited
{
    public static readonly TenantRateLimited Instance = new();

    private TenantRateLimited()
    {
    }
}
