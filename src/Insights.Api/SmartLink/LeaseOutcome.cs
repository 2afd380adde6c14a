namespace Insights.SmartLink;

/// <summary>
/// What a receive leased; when it leased nothing, when the next message becomes visible (null: none waits). Also how
/// many picked messages had an expired lease (<paramref name="Expired"/>), and how many of those were dead-lettered
/// instead, past their last delivery (<paramref name="Dead"/>).
/// </summary>
public sealed record LeaseOutcome(List<LeasedMessage> Messages, DateTimeOffset? NextVisibleAt, int Expired = 0, int Dead = 0);
