namespace Insights.Tenancy;

public enum ProvisionOutcome
{
    Created,
    Exists,
    Failed,
}
