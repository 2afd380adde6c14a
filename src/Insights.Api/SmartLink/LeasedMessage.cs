namespace Insights.SmartLink;

public sealed record LeasedMessage(string Receipt, int DeliveryCount, RawJson Message);
