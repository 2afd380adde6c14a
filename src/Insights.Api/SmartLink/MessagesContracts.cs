namespace Insights.SmartLink;

public sealed record ResendResponse(Guid MessageId);

public sealed record RedriveRequest(IReadOnlyList<Guid>? MessageIds);

public sealed record RedriveResponse(int Redriven);
