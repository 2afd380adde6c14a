namespace Insights.SmartLink;

public sealed record LeaseResult(int Extended, IReadOnlyList<string> Rejected);
