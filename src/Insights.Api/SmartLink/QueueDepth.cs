namespace Insights.SmartLink;

public sealed record QueueDepth(long Ready, long Leased, long Acked, long Dead);
