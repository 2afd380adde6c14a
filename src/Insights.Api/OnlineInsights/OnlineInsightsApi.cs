using Insights.Ingestion;
using Insights.Messaging;
using Insights.Tenancy;
using MassTransit;

namespace Insights.OnlineInsights;

/// <summary>
/// <c>POST /api/v1/online-insights</c>: an ERP screen asks, a worker answers through the request/reply bus. It shares
/// the tenant's request rate with the SmartLink client API: one tenant, one budget, whichever way it asks.
/// </summary>
public static class OnlineInsightsApi
{
    public static RouteGroupBuilder MapOnlineInsightsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapApiGroup("/online-insights", "Online insights")
            .WithMetadata(SmartLink.TenantRateLimited.Instance)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);

        group.MapPost("/", Ask)
            .Operation(Policies.Tenant, "GetOnlineInsight", "The latest model of an online insight that matches key, filter and dates (or a live answer): 404 when none matches, 503 while the bus cannot reach its broker, 504 when no answer came in time.")
            .Produces<OnlineInsightResult>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status502BadGateway)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .ProducesProblem(StatusCodes.Status504GatewayTimeout);

        return group;
    }

    private const int BusRetryAfterSeconds = 5;

    private static ProblemHttpResult SourceFailed(string detail) =>
        TypedResults.Problem(title: "Insight source failed", detail: detail, statusCode: StatusCodes.Status502BadGateway);

    private static async Task<Results<Ok<OnlineInsightResult>, ValidationProblem, ProblemHttpResult>> Ask(
        OnlineInsightRequestBody body,
        TenantContext tenant,
        InsightDefinitionCatalog definitions,
        IRequestClient<GetOnlineInsight> stored,
        IRequestClient<GetLiveOnlineInsight> live,
        IOptions<OnlineInsightsOptions> options,
        BusMonitor bus,
        InsightsMetrics metrics,
        HttpContext http,
        CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var errors = OnlineInsightQuery.Check(tenant.Current.Id, body, "", out var request);
        InsightDefinition? definition = null;
        if (errors is null
            && (!(await definitions.AllAsync(cancellationToken)).TryGetValue(request!.Insight, out definition) || !definition.Online))
        {
            errors = new() { ["insight"] = [$"There is no online insight '{request!.Insight}'."] };
        }

        if (errors is not null)
        {
            return TypedResults.ValidationProblem(errors, detail: "One or more fields are not valid.");
        }

        // Counted from here on: requests refused for their fields are not answers of a source.
        var source = definition!.Source == OnlineInsightAnswerer.LiveSource ? "live" : "store";
        if (!bus.IsConnected)
        {
            metrics.OnlineInsight(source, "unavailable", started);
            return BusUnavailable(http);
        }

        // The deadline covers the whole exchange, sending included: a send waiting for a broker that went away mid-way
        // ends with the deadline too.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.Value.Timeout);
        try
        {
            var timeout = RequestTimeout.After(ms: (int)options.Value.Timeout.TotalMilliseconds);
            var response = definition.Source == OnlineInsightAnswerer.LiveSource
                ? await live.GetResponse<OnlineInsightAnswer>(new GetLiveOnlineInsight(request!), x => x.UseExecute(OnlineInsightMessages.Transient), deadline.Token, timeout)
                : await stored.GetResponse<OnlineInsightAnswer>(request!, x => x.UseExecute(OnlineInsightMessages.Transient), deadline.Token, timeout);
            var answer = response.Message;
            metrics.OnlineInsight(source, answer.Status switch
            {
                OnlineInsightStatus.Found => "found",
                OnlineInsightStatus.NotFound or OnlineInsightStatus.Rejected => "not_found",
                _ => "error",
            }, started);
            switch (answer.Status)
            {
                case OnlineInsightStatus.Found when answer.Found is { } found:
                    // The payload as the worker read it (valid JSON from the store or live source), written as is.
                    return TypedResults.Ok(new OnlineInsightResult(found.Insight, found.Key, found.Source, found.GeneratedAt, found.Version, new RawJson(found.PayloadJson)));

                case OnlineInsightStatus.NotFound or OnlineInsightStatus.Rejected:
                    // Rejected reaches here only when a definition changed after this node checked it.
                    return TypedResults.Problem(title: "No matching insight", detail: answer.Detail, statusCode: StatusCodes.Status404NotFound);
                default:
                    return SourceFailed(answer.Detail ?? "The insight could not be answered.");
            }
        }
        catch (RequestFaultException)
        {
            metrics.OnlineInsight(source, "error", started);
            // The worker failed to answer (its store unreachable, say); it logged why. The caller learns that the
            // answer could not be had, not the worker's internals.
            return SourceFailed("The insight could not be answered; try again later.");
        }
        catch (Exception e) when (e is RequestTimeoutException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            metrics.OnlineInsight(source, bus.IsConnected ? "timeout" : "unavailable", started);
            return bus.IsConnected
                ? TypedResults.Problem(
                    title: "No answer in time",
                    detail: $"No answer arrived within {options.Value.Timeout.TotalSeconds:0.###} s; try again.",
                    statusCode: StatusCodes.Status504GatewayTimeout)
                : BusUnavailable(http);
        }
        catch (Exception e) when (e is MassTransitException or RabbitMQ.Client.Exceptions.BrokerUnreachableException && !cancellationToken.IsCancellationRequested)
        {
            metrics.OnlineInsight(source, "unavailable", started);
            return BusUnavailable(http);
        }
    }

    /// <summary>No worker can be asked while the bus has no broker: said at once, with when to try again.</summary>
    private static ProblemHttpResult BusUnavailable(HttpContext http)
    {
        http.Response.Headers.RetryAfter = BusRetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return TypedResults.Problem(
            title: "Service unavailable",
            detail: "Online insights are unavailable while the message bus cannot reach its broker; retry after the time in the Retry-After header.",
            statusCode: StatusCodes.Status503ServiceUnavailable);
    }
}
