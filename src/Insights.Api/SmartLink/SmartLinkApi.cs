using Insights.Messaging;
using Insights.Tenancy;
using Microsoft.AspNetCore.Mvc;

namespace Insights.SmartLink;

/// <summary>SmartLink's client verbs for Protheus: <c>/api/v1/smartlink</c>, always the token's tenant.</summary>
public static class SmartLinkApi
{
    private static readonly TimeSpan MinimumPause = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan VisibleGrace = TimeSpan.FromMilliseconds(5);
    public const string OnlineInsightRequest = "OnlineInsightRequest";
    public const string InsightProcessingStatus = "InsightProcessingStatus";

    public static RouteGroupBuilder MapSmartLinkApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapApiGroup("/smartlink", "SmartLink client")
            .WithMetadata(TenantRateLimited.Instance)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);

        group.MapPost("/receive", Receive)
            .Operation(Policies.Tenant, "Receive", "Leases up to max visible messages (high priority first, then FIFO), waiting up to waitSeconds for one to arrive.")
            .ProducesValidationProblem();

        group.MapPost("/ack", Ack)
            .Operation(Policies.Tenant, "Ack", "Acknowledges deliveries by receipt; receipts whose lease expired or was superseded are rejected.")
            .ProducesValidationProblem();

        group.MapPost("/nack", Nack)
            .Operation(Policies.Tenant, "Nack", "Fails a delivery: dead-letters it with the reason, or (requeue: true) makes it visible again after delaySeconds.")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);

        group.MapPost("/lease", Extend)
            .Operation(Policies.Tenant, "ExtendLease", "Extends leases still held to visibilityTimeoutSeconds from now.")
            .ProducesValidationProblem();

        group.MapPost("/messages", Send)
            .Operation(Policies.Tenant, "Send", "Sends a message to the service: OnlineInsightRequest (answered by an OnlineInsightResponse message) or InsightProcessingStatus.")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);

        return group;
    }

    private static async Task<Results<Ok<ReceiveResponse>, ValidationProblem>> Receive(
        [FromBody(EmptyBodyBehavior = Microsoft.AspNetCore.Mvc.ModelBinding.EmptyBodyBehavior.Allow)] ReceiveRequest? request,
        TenantContext tenantContext, TenantQueues store, QueueSignals signals, InsightsMetrics metrics, CancellationToken cancellationToken)
    {
        var max = request?.Max ?? 10;
        var visibility = request?.VisibilityTimeoutSeconds ?? 60;
        var wait = request?.WaitSeconds ?? 0;
        var errors = new Dictionary<string, string[]>();
        Range(errors, "max", max, 1, 100);
        Range(errors, "visibilityTimeoutSeconds", visibility, 1, 43200);
        Range(errors, "waitSeconds", wait, 0, 20);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, detail: "One or more fields are not valid.");
        }

        var tenant = tenantContext.Current;
        var deadline = DateTimeOffset.UtcNow.AddSeconds(wait);
        var waiting = false;
        var woken = false;
        try
        {
            while (true)
            {
                // No statement while waiting, and none at all when this node knows the queue empty (an enqueue in
                // flight wakes it a moment later). A receive that does not wait always looks, to see earlier enqueues
                // on any node (docs/decisions/0014-receive-looks-before-it-leases.md).
                var enqueued = signals.Next(tenant.Id);
                var leasedHere = signals.NextLease(tenant.Id);
                LeaseOutcome outcome;
                if (!woken && wait > 0 && signals.KnowsNothingVisible(tenant.Id, enqueued, out var knownNextVisibleAt, out var report))
                {
                    if (report)
                    {
                        store.FoundNothingKnown(tenant);
                    }

                    outcome = new LeaseOutcome([], knownNextVisibleAt);
                }
                else
                {
                    outcome = await store.ReceiveAsync(tenant, max, visibility, cancellationToken, expectMessages: woken);
                    if (outcome.Messages.Count == 0)
                    {
                        signals.FoundNothing(tenant.Id, enqueued, outcome.NextVisibleAt);
                    }
                }

                metrics.Received(outcome.Messages.Count, outcome.Expired, outcome.Dead);
                var now = DateTimeOffset.UtcNow;
                if (outcome.Messages.Count > 0)
                {
                    signals.Leased(tenant.Id, now.AddSeconds(visibility));
                    return TypedResults.Ok(new ReceiveResponse(outcome.Messages));
                }

                if (now >= deadline)
                {
                    return TypedResults.Ok(new ReceiveResponse(outcome.Messages));
                }

                if (!waiting)
                {
                    waiting = true;
                    metrics.LongPollStarted();
                }

                var wakeAt = outcome.NextVisibleAt is { } next && next < deadline ? next : deadline;
                if (!await WaitAsync(enqueued, leasedHere, wakeAt, deadline, signals, tenant.Id, cancellationToken))
                {
                    // The wait ended with nothing new: the look at its start stands, and the client polls again.
                    return TypedResults.Ok(new ReceiveResponse([]));
                }

                woken = true;
            }
        }
        finally
        {
            if (waiting)
            {
                metrics.LongPollEnded();
            }
        }
    }

    /// <summary>
    /// Waits without a statement until an enqueue (true), the time a message becomes visible (true), or the deadline
    /// (false). A lease taken on this node meanwhile can bring the wake-up forward, to when it expires.
    /// </summary>
    private static async Task<bool> WaitAsync(
        Task enqueued, Task<DateTimeOffset> leasedHere, DateTimeOffset wakeAt, DateTimeOffset deadline, QueueSignals signals, string tenantId,
        CancellationToken cancellationToken)
    {
        while (true)
        {
            var now = DateTimeOffset.UtcNow;
            if (now >= deadline)
            {
                return false;
            }

            // A little after the message becomes visible by PostgreSQL's clock (timers may fire a hair early). A
            // visible message the lease skipped is locked by another receiver for a moment: wait a little, not spin.
            var delay = (wakeAt < deadline ? wakeAt + VisibleGrace : deadline) - now;
            if (delay < MinimumPause)
            {
                delay = deadline - now < MinimumPause ? deadline - now : MinimumPause;
            }

            var woke = await Task.WhenAny(enqueued, leasedHere, Task.Delay(delay, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
            if (woke == enqueued)
            {
                return true;
            }

            if (woke != leasedHere)
            {
                return wakeAt < deadline;
            }

            if (leasedHere.Result < wakeAt)
            {
                wakeAt = leasedHere.Result;
            }

            leasedHere = signals.NextLease(tenantId);
        }
    }

    private static async Task<Results<Ok<AckResult>, ValidationProblem>> Ack(
        AckRequest request, TenantContext tenant, TenantQueues store, InsightsMetrics metrics, CancellationToken cancellationToken)
    {
        if (ReceiptsError(request.Receipts) is { } error)
        {
            return error;
        }

        var result = await store.AckAsync(tenant.Current, request.Receipts!, cancellationToken);
        metrics.Acked(result.Acked, result.Rejected.Count);
        return TypedResults.Ok(result);
    }

    private static async Task<Results<Ok<NackResponse>, ValidationProblem, ProblemHttpResult>> Nack(
        NackRequest request, TenantContext tenant, TenantQueues store, InsightsMetrics metrics, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (!Receipt.TryParse(request.Receipt, out var receipt))
        {
            errors["receipt"] = ["receipt must be a receipt returned by receive."];
        }

        var reason = request.Reason?.Trim();
        if (request.Requeue != true && string.IsNullOrEmpty(reason))
        {
            errors["reason"] = ["reason is required to dead-letter a message."];
        }
        else if (reason?.Length > 2000)
        {
            errors["reason"] = ["reason must be at most 2000 characters."];
        }

        var delay = request.DelaySeconds ?? 0;
        Range(errors, "delaySeconds", delay, 0, 43200);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, detail: "One or more fields are not valid.");
        }

        var status = await store.NackAsync(tenant.Current, receipt, reason ?? "", request.Requeue == true, delay, cancellationToken);
        if (status is not null)
        {
            metrics.Nacked(request.Requeue == true);
        }

        return status is null
            ? TypedResults.Problem(
                title: "Receipt no longer valid",
                detail: "The lease of this delivery expired or was superseded by a newer delivery; nothing changed.",
                statusCode: StatusCodes.Status409Conflict)
            : TypedResults.Ok(new NackResponse(status));
    }

    private static async Task<Results<Ok<LeaseResult>, ValidationProblem>> Extend(
        LeaseRequest request, TenantContext tenant, TenantQueues store, CancellationToken cancellationToken)
    {
        if (ReceiptsError(request.Receipts) is { } error)
        {
            return error;
        }

        var visibility = request.VisibilityTimeoutSeconds ?? 60;
        var errors = new Dictionary<string, string[]>();
        Range(errors, "visibilityTimeoutSeconds", visibility, 1, 43200);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, detail: "One or more fields are not valid.");
        }

        return TypedResults.Ok(await store.ExtendAsync(tenant.Current, request.Receipts!, visibility, cancellationToken));
    }

    private static async Task<Results<Accepted<SendResponse>, ValidationProblem, ProblemHttpResult>> Send(
        SendRequest request, TenantContext tenantContext, TenantQueues store, CatalogDatabase dataSource, Outbox outbox, IOptions<SmartLinkOptions> options,
        IOnlineInsightRequestCheck onlineRequests, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (request.Id is not null)
        {
            errors["id"] = ["id is set by the service; leave it out."];
        }

        if (request.Time is not null)
        {
            errors["time"] = ["time is set by the service; leave it out."];
        }

        if (request.Specversion is not null and not Envelope.SpecVersion)
        {
            errors["specversion"] = ["specversion must be \"1.0\"."];
        }

        if (request.Datacontenttype is not null and not "application/json")
        {
            errors["datacontenttype"] = ["datacontenttype must be application/json."];
        }

        CheckExtensions(request.Extensions, tenantContext.Current.Id, errors);
        if (request.Type is not (OnlineInsightRequest or InsightProcessingStatus))
        {
            errors["type"] = [$"type must be {OnlineInsightRequest} or {InsightProcessingStatus}."];
        }

        if (request.Data is not { ValueKind: JsonValueKind.Object } data)
        {
            errors["data"] = ["data must be a JSON object."];
            return TypedResults.ValidationProblem(errors, detail: "The message is not valid.");
        }

        var dataJson = data.GetRawText();
        if (System.Text.Encoding.UTF8.GetByteCount(dataJson) > options.Value.MaxDataBytes)
        {
            return TypedResults.Problem(
                title: "Message too large",
                detail: $"data is larger than the limit of {options.Value.MaxDataBytes} bytes.",
                statusCode: StatusCodes.Status413PayloadTooLarge);
        }

        var tenant = tenantContext.Current;
        var id = Guid.CreateVersion7();
        if (request.Type == InsightProcessingStatus && errors.Count == 0)
        {
            var messageId = data.TryGetProperty("messageId", out var m) && m.ValueKind == JsonValueKind.String && Guid.TryParse(m.GetString(), out var parsed) ? parsed : (Guid?)null;
            var status = data.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
            var detail = data.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
            if (messageId is null)
            {
                errors["data.messageId"] = ["data.messageId must be the id of a message this tenant received."];
            }

            if (status is not ("processed" or "failed"))
            {
                errors["data.status"] = ["data.status must be processed or failed."];
            }

            if (detail?.Length > 4000)
            {
                errors["data.detail"] = ["data.detail must be at most 4000 characters."];
            }

            if (errors.Count == 0 && !await store.RecordProcessingAsync(tenant, messageId!.Value, status!, detail, cancellationToken))
            {
                errors["data.messageId"] = ["data.messageId names no message of this tenant."];
            }
        }
        else if (request.Type == OnlineInsightRequest && errors.Count == 0)
        {
            // A request that could never be answered is refused here, field by field, as the HTTP endpoint does;
            // whether its insight exists and is online is the worker's to answer, as definitions may change.
            if (onlineRequests.Check(tenant.Id, dataJson) is { } invalid)
            {
                foreach (var (field, messages) in invalid)
                {
                    errors[field] = messages;
                }
            }
            else
            {
                // Accepted once it is stored: the outbox hands it to a worker, now or when the broker is back.
                await outbox.AddAsync(dataSource, new OnlineInsightRequested(tenant.Id, id, dataJson), cancellationToken, messageId: id);
            }
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, detail: "The message is not valid.");
        }

        return TypedResults.Accepted((string?)null, new SendResponse(id));
    }

    /// <summary>
    /// CloudEvents extension attributes: names of 1–20 lowercase ASCII letters and digits. <c>tenantId</c>
    /// (SmartLink's attribute) may be sent, and must then be the token's tenant.
    /// </summary>
    private static void CheckExtensions(Dictionary<string, JsonElement>? extensions, string tenantId, Dictionary<string, string[]> errors)
    {
        foreach (var (name, value) in extensions ?? [])
        {
            if (name == "tenantId")
            {
                if (value.ValueKind != JsonValueKind.String || value.GetString() != tenantId)
                {
                    errors["tenantId"] = ["tenantId is the tenant of the token: leave it out or send that one."];
                }
            }
            else if (name.Length is < 1 or > 20 || !name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c)))
            {
                errors["attributes"] = ["Every attribute is one of the envelope's or a CloudEvents extension named with 1–20 lowercase letters and digits."];
            }
        }
    }

    private static ValidationProblem? ReceiptsError(IReadOnlyList<string>? receipts) =>
        receipts is null || receipts.Count is < 1 or > 100
            ? TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { ["receipts"] = ["receipts must hold 1 to 100 receipts."] },
                detail: "One or more fields are not valid.")
            : null;

    private static void Range(Dictionary<string, string[]> errors, string field, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            errors[field] = [$"{field} must be between {min} and {max}."];
        }
    }
}
