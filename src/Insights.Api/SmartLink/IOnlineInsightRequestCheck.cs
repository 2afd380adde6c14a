namespace Insights.SmartLink;

/// <summary>
/// Checks the data of an <c>OnlineInsightRequest</c> a client sends through the queue, field by field, as the HTTP
/// endpoint checks its body; the online insights capability provides it.
/// </summary>
public interface IOnlineInsightRequestCheck
{
    /// <summary>The errors by field (under <c>data.</c>), or null when the request can be asked.</summary>
    Dictionary<string, string[]>? Check(string tenantId, string dataJson);
}
