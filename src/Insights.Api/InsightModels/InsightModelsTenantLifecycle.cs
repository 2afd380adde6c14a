using Insights.Tenancy;

namespace Insights.InsightModels;

/// <summary>A tenant's models are copied before a move's switch, while the move keeps its ingestion off.</summary>
internal sealed class InsightModelsTenantLifecycle : ITenantLifecycle
{
    public IEnumerable<TenantTable> Tables { get; } = [new("insight_models", CopiedAtSwitch: false)];
}
