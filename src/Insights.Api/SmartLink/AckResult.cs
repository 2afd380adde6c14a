namespace Insights.SmartLink;

public sealed record AckResult(int Acked, IReadOnlyList<string> Rejected);
