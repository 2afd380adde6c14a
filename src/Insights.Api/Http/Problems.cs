namespace Insights.Http;

/// <summary>RFC 9457 problem details for every error the service answers, never with an internal detail.</summary>
internal static class Problems
{
    public static void AddInsightsProblems(this IServiceCollection services)
    {
        services.AddProblemDetails(o => o.CustomizeProblemDetails = context =>
        {
            var problem = context.ProblemDetails;
            var status = problem.Status ?? context.HttpContext.Response.StatusCode;
            problem.Detail ??= status == StatusCodes.Status413PayloadTooLarge ? BodyTooLarge(context.HttpContext) : DefaultDetail(status);
            problem.Type ??= status switch
            {
                413 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.14",
                429 => "https://www.rfc-editor.org/rfc/rfc6585#section-4",
                431 => "https://www.rfc-editor.org/rfc/rfc6585#section-5",
                _ => "about:blank",
            };
            problem.Extensions["traceId"] = Activity.Current?.Id ?? context.HttpContext.TraceIdentifier;
        });
        services.AddExceptionHandler<ProblemExceptionHandler>();
        // Minimal APIs throw on unreadable bodies, so one handler words every such answer the same way.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
    }

    /// <summary>The detail of a <c>413</c>, naming the limit, however the body was found too large.</summary>
    public static string BodyTooLarge(HttpContext context) =>
        $"The request body is larger than the limit of {context.RequestServices.GetRequiredService<IOptions<HttpOptions>>().Value.MaxRequestBodyBytes} bytes.";

    public static string DefaultDetail(int status) => status switch
    {
        400 => "The request is not valid.",
        401 => "A valid bearer token is required.",
        403 => "The token is valid but may not do this.",
        404 => "The resource does not exist.",
        405 => "This method is not allowed on this resource.",
        406 => "The requested media type cannot be produced; ask for application/json.",
        408 => "The request did not arrive in time.",
        409 => "The request conflicts with the current state of the resource.",
        411 => "The request body needs a Content-Length or chunked transfer encoding.",
        413 => "The request body is larger than the limit.",
        414 => "The request line (method, path and query string) is longer than the limit.",
        415 => "The request body must be application/json.",
        429 => "Too many requests; retry after the time in the Retry-After header.",
        431 => "The request headers are larger or more numerous than the limit.",
        503 => "The service is not ready.",
        504 => "No answer arrived within the deadline.",
        505 => "The HTTP version is not supported; use HTTP/1.1 or HTTP/2.",
        _ => status >= 500 ? "An unexpected error occurred. Quote the traceId when reporting it." : "The request failed.",
    };
}
