using Insights.SmartLink;

namespace Insights.OnlineInsights;

internal sealed class OnlineInsightRequestCheck : IOnlineInsightRequestCheck
{
    public Dictionary<string, string[]>? Check(string tenantId, string dataJson) => OnlineInsightQuery.CheckData(tenantId, dataJson, out _);
}
