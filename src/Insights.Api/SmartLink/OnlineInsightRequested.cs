namespace Insights.SmartLink;

/// <summary>A client asked for an online insight through the queue; the answer goes to the tenant's queue.</summary>
public sealed record OnlineInsightRequested(string TenantId, Guid RequestId, string DataJson);
