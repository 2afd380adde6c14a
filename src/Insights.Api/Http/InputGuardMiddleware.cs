namespace Insights.Http;

/// <summary>
/// Refuses, before any endpoint runs, a query parameter or path segment that PostgreSQL could not hold (a NUL, from
/// <c>%00</c>), with a <c>400</c> naming it. Bodies are checked as they are read (<see cref="StrictJson"/>).
/// </summary>
internal sealed class InputGuardMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        Dictionary<string, string[]>? errors = null;
        foreach (var (name, values) in context.Request.Query)
        {
            if (StrictJson.Problem(name) is { } nameProblem)
            {
                (errors ??= [])["query"] = [$"A query parameter name {nameProblem}"];
                continue;
            }

            foreach (var value in values)
            {
                if (value is not null && StrictJson.Problem(value) is { } problem)
                {
                    (errors ??= [])[name] = [$"{name} {problem}"];
                    break;
                }
            }
        }

        foreach (var (name, value) in context.Request.RouteValues)
        {
            if (value is string text && StrictJson.Problem(text) is { } problem)
            {
                (errors ??= [])[name] = [$"{name} {problem}"];
            }
        }

        return errors is null ? next(context) : Refuse(context, errors);
    }

    private static Task Refuse(HttpContext context, Dictionary<string, string[]> errors) =>
        TypedResults.ValidationProblem(errors, detail: "One or more parts of the request are not valid.").ExecuteAsync(context);
}
