namespace Insights.Http;

internal sealed record Rejection(int Status, string TraceId);
