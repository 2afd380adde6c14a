namespace Insights.SmartLink;

public sealed record ProcessingReport(string Status, string? Detail, DateTimeOffset At);
