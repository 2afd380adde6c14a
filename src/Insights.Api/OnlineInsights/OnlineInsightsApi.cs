using System.Text.Json;
using Insights.Auth;
using Insights.Hosting;
using Insights.Ingestion;
using Insights.SmartLink;
using Insights.Tenancy;
using MassTransit;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Insights.OnlineInsights;

/// <summary>The answer of <c>POST /api/v1/online-insights</c>.</summary>
public sealed record OnlineInsightResult(string Insight, string? Key, string Source, DateTimeOffset GeneratedAt, long Version, JsonElement Payload);

/// <summary>
/// <c>POST /api/v1/online-insights</c>: an ERP screen asks, a worker answers through the request/reply bus. It shares
/// the tenant's request rate with the SmartLink client API: one tenant, one budget, whichever way it asks.
/// </summary>
public static class OnlineInsightsApi
{
    public static RouteGroupBuilder MapOnlineInsightsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/online-insights")
            .WithTags("Online insights")
            .RequireAuthorization(Policies.Tenant)
            .RequireRateLimiting(SmartLinkApi.RateLimitPolicy)
            .WithCommonProblems()
            .ProducesProblem(StatusCodes.Status429TooManyRequests);

        group.MapPost("/", Ask)
            .WithName("GetOnlineInsight")
            .WithSummary("The latest model of an online insight that matches key, filter and dates (or a live answer): 404 when none matches, 504 when no answer came in time.")
            .Produces<OnlineInsightResult>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status502BadGateway)
            .ProducesProblem(StatusCodes.Status504GatewayTimeout);

        return group;
    }

    private static async Task<Results<Ok<OnlineInsightResult>, ValidationProblem, ProblemHttpResult>> Ask(
        OnlineInsightRequestBody body,
        TenantContext tenant,
        InsightDefinitionStore definitions,
        IRequestClient<GetOnlineInsight> client,
        IOptions<OnlineInsightsOptions> options,
        CancellationToken cancellationToken)
    {
        var errors = OnlineInsightQuery.Check(tenant.Current.Id, body, "", out var request);
        if (errors is null
            && (!(await definitions.AllAsync(cancellationToken)).TryGetValue(request!.Insight, out var definition) || !definition.Online))
        {
            errors = new() { ["insight"] = [$"There is no online insight '{request!.Insight}'."] };
        }

        if (errors is not null)
        {
            return TypedResults.ValidationProblem(errors, detail: "One or more fields are not valid.");
        }

        try
        {
            // The request lives no longer than the caller waits, and the broker never writes it to disk.
            var response = await client.GetResponse<OnlineInsightFound, OnlineInsightNotFound, OnlineInsightFailed>(
                request!, x => x.UseExecute(context => context.Durable = false), cancellationToken, RequestTimeout.After(ms: (int)options.Value.Timeout.TotalMilliseconds));
            if (response.Is(out Response<OnlineInsightFound>? found))
            {
                var answer = found.Message;
                using var payload = JsonDocument.Parse(answer.PayloadJson);
                return TypedResults.Ok(new OnlineInsightResult(answer.Insight, answer.Key, answer.Source, answer.GeneratedAt, answer.Version, payload.RootElement.Clone()));
            }

            if (response.Is(out Response<OnlineInsightNotFound>? notFound))
            {
                return TypedResults.Problem(title: "No matching insight", detail: notFound.Message.Detail, statusCode: StatusCodes.Status404NotFound);
            }

            var failed = response.Is(out Response<OnlineInsightFailed>? failure) ? failure.Message.Detail : "The insight could not be answered.";
            return TypedResults.Problem(title: "Insight source failed", detail: failed, statusCode: StatusCodes.Status502BadGateway);
        }
        catch (RequestTimeoutException)
        {
            return TypedResults.Problem(
                title: "No answer in time",
                detail: $"No answer arrived within {options.Value.Timeout.TotalSeconds:0.###} s; try again.",
                statusCode: StatusCodes.Status504GatewayTimeout);
        }
    }
}
