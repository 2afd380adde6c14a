using System.Buffers;
using Insights.SmartLink;
using Insights.Tenancy;
using MassTransit;

namespace Insights.OnlineInsights;

/// <summary>
/// Answers an <c>OnlineInsightRequest</c> a client sent through the queue with one high-priority
/// <c>OnlineInsightResponse</c> message in the same tenant's queue. The answer's id derives from the request's, so a
/// redelivered bus message enqueues nothing twice.
/// </summary>
public sealed class OnlineInsightRequestedConsumer(
    OnlineInsightAnswerer answerer,
    TenantDirectory directory,
    QueueWriter queue,
    TenantDatabases connections,
    ILogger<OnlineInsightRequestedConsumer> logger) : IConsumer<OnlineInsightRequested>
{
    public const string ResponseType = "OnlineInsightResponse";

    public async Task Consume(ConsumeContext<OnlineInsightRequested> context)
    {
        var requested = context.Message;
        var cancellationToken = context.CancellationToken;
        using var scope = logger.BeginScope("Tenant {TenantId}, online request {RequestId}", requested.TenantId, requested.RequestId);
        var valid = TenantId.IsValid(requested.TenantId);
        if (valid)
        {
            TelemetrySetup.TagTenant(requested.TenantId);
        }

        var tenant = valid ? await directory.FindAsync(requested.TenantId, cancellationToken) : null;
        if (tenant is not { Status: TenantStatus.Active or TenantStatus.Suspended })
        {
            // No queue to answer in: the tenant was removed after it sent the request.
            logger.LogWarning("Online insight request {RequestId} dropped: its tenant no longer exists", requested.RequestId);
            return;
        }

        string data;
        var errors = OnlineInsightQuery.CheckData(tenant.Id, requested.DataJson, out var request);
        if (errors is not null)
        {
            var detail = string.Join(" ", errors.Select(e => e.Key + ": " + string.Join(" ", e.Value)));
            data = Data(requested.RequestId, "error", InsightOf(requested.DataJson), null, null, detail);
        }
        else
        {
            var answer = await AnswerAsync(context, request!);
            data = answer.Status switch
            {
                OnlineInsightStatus.Found => Data(requested.RequestId, "ok", request!.Insight, request.Key, answer.Found, null),
                OnlineInsightStatus.NotFound => Data(requested.RequestId, "not_found", request!.Insight, request.Key, null, answer.Detail),
                _ => Data(requested.RequestId, "error", request!.Insight, request.Key, null, answer.Detail),
            };
        }

        var message = new OutgoingMessage(MessageIds.DerivedFrom(requested.RequestId, ResponseType), ResponseType, MessagePriority.High, data);
        if (!await queue.EnqueueOnceAsync(connections, tenant, message, cancellationToken))
        {
            logger.LogInformation("Online insight request {RequestId} was already answered", requested.RequestId);
        }
    }

    /// <summary>
    /// The answerer's outcome; a failure becomes an <c>error</c> answer, so the client always gets its one answer. Only
    /// a failure that may pass (the database unreachable for a moment) is left to the retries, while some remain.
    /// </summary>
    private async Task<OnlineInsightAnswer> AnswerAsync(ConsumeContext<OnlineInsightRequested> context, GetOnlineInsight request)
    {
        try
        {
            return await answerer.AnswerAsync(request, context.CancellationToken);
        }
        catch (Exception e) when (!context.CancellationToken.IsCancellationRequested
            && !(e is NpgsqlException { IsTransient: true } && context.GetRetryAttempt() < OnlineInsightRequestedConsumerDefinition.RetryIntervals.Length))
        {
            logger.LogError(e, "Online insight request {RequestId} could not be answered", context.Message.RequestId);
            return OnlineInsightAnswer.Failed("The insight could not be looked up; try again later.");
        }
    }

    /// <summary><c>{requestId, status, insight, key, source, generatedAt, version, payload, detail?}</c>.</summary>
    private static string Data(Guid requestId, string status, string? insight, string? key, OnlineInsightFound? found, string? detail)
    {
        var buffer = new ArrayBufferWriter<byte>(256 + (found?.PayloadJson.Length ?? 0));
        using (var writer = new Utf8JsonWriter(buffer, Envelope.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("requestId", requestId);
            writer.WriteString("status", status);
            writer.WriteString("insight", insight);
            writer.WriteString("key", found is null ? key : found.Key);
            writer.WriteString("source", found?.Source);
            if (found is null)
            {
                writer.WriteNull("generatedAt");
                writer.WriteNull("version");
                writer.WriteNull("payload");
            }
            else
            {
                writer.WriteString("generatedAt", found.GeneratedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture));
                writer.WriteNumber("version", found.Version);
                writer.WritePropertyName("payload");
                writer.WriteRawValue(found.PayloadJson);
            }

            if (detail is not null)
            {
                writer.WriteString("detail", detail);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The insight named by a request that did not pass the checks, when it is a string at all.</summary>
    private static string? InsightOf(string dataJson)
    {
        try
        {
            using var document = JsonDocument.Parse(dataJson);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("insight", out var insight) && insight.ValueKind == JsonValueKind.String
                && insight.GetString() is { Length: <= 100 } name
                ? name
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>A queue request must be answered: a passing database failure is retried before giving up.</summary>
public sealed class OnlineInsightRequestedConsumerDefinition : ConsumerDefinition<OnlineInsightRequestedConsumer>
{
    /// <summary>Milliseconds between the attempts after the first.</summary>
    public static readonly int[] RetryIntervals = [200, 1000, 5000];

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<OnlineInsightRequestedConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(r => r.Intervals(RetryIntervals));
    }
}
