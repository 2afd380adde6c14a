namespace Insights.SmartLink;

/// <summary>What the queue did for a tenant, told as it happens (kept in memory by the fleet health view).</summary>
public interface IQueueActivity
{
    void Enqueued(string tenantId, int messages);

    void Received(string tenantId, DateTimeOffset startedAt, int max, int leased, int expired, int dead, DateTimeOffset? newestLeasedEnqueuedAt);

    void FoundNothing(string tenantId, DateTimeOffset startedAt);

    void Acked(string tenantId, int messages);

    void Nacked(string tenantId, bool requeued, int delaySeconds);

    void Redriven(string tenantId, int messages);

    void ProcessingFailed(string tenantId);
}
