namespace Insights.SmartLink;

/// <summary>Marks the endpoints whose requests count against their tenant's rate (<see cref="TenantRequestRate"/>).</summary>
public sealed class TenantRateLimited
{
    public static readonly TenantRateLimited Instance = new();

    private TenantRateLimited()
    {
    }
}
