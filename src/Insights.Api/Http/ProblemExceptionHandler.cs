using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace Insights.Http;

internal sealed partial class ProblemExceptionHandler(IProblemDetailsService problems, ILogger<ProblemExceptionHandler> logger) : IExceptionHandler
{
    private const string DatabaseRetryAfterSeconds = "5";

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is OperationCanceledException && httpContext.RequestAborted.IsCancellationRequested)
        {
            // The client went away; there is nobody to answer.
            httpContext.Response.StatusCode = 499;
            return true;
        }

        if (exception is BadHttpRequestException { StatusCode: not StatusCodes.Status413PayloadTooLarge } unread
            && await BodyOverLimitAsync(httpContext, cancellationToken))
        {
            // The body's size is judged before its content: a streamed body over the limit is 413 as a declared one
            // is, even when its first bytes already failed.
            exception = new BadHttpRequestException("Request body too large.", StatusCodes.Status413PayloadTooLarge, unread);
        }

        if (exception is BadHttpRequestException bad400 && FieldError(bad400) is var (field, message))
        {
            // A well-formed body with a field that cannot be accepted: named like any validation failure.
            httpContext.Response.StatusCode = StatusCodes.Status400BadRequest;
            return await problems.TryWriteAsync(new ProblemDetailsContext
            {
                HttpContext = httpContext,
                Exception = exception,
                ProblemDetails = new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [message] })
                {
                    Status = StatusCodes.Status400BadRequest,
                    Detail = "One or more fields are not valid.",
                },
            });
        }

        if (Database.ConnectionPoolGuard.IsUnavailable(exception))
        {
            // The database is away (the pool guard logs the outage once): the client retries, nothing was changed.
            logger.LogDebug(exception, "PostgreSQL unavailable on {Method} {Path}", httpContext.Request.Method, httpContext.Request.Path);
            return await UnavailableAsync(httpContext, exception, DatabaseRetryAfterSeconds,
                "The database cannot be reached; retry after the time in the Retry-After header.");
        }

        if (exception is Npgsql.PostgresException { SqlState: Npgsql.PostgresErrorCodes.UndefinedTable or Npgsql.PostgresErrorCodes.InvalidSchemaName })
        {
            // The tenant's schema went away under the request (moved to another store, or being deleted). Nothing was
            // changed; the retry finds the tenant where it is now.
            logger.LogInformation("A tenant's tables were not where {Method} {Path} looked (moved or deleted); answered 503", httpContext.Request.Method, httpContext.Request.Path);
            return await UnavailableAsync(httpContext, exception, "1",
                "The tenant's data is moving between databases; retry after the time in the Retry-After header.");
        }

        var (status, detail) = exception switch
        {
            BadHttpRequestException bad => (bad.StatusCode, DescribeBadRequest(bad, httpContext)),
            // Class 22 is PostgreSQL refusing a value (out of range, not valid text): the edge should have caught
            // it, and it is still the request's fault, not the service's.
            Npgsql.PostgresException { SqlState: ['2', '2', _, _, _] } => (StatusCodes.Status400BadRequest, "A value in the request cannot be stored; check the values' ranges and text."),
            _ => (StatusCodes.Status500InternalServerError, Problems.DefaultDetail(500)),
        };

        if (status >= 500)
        {
            logger.LogError(exception, "Unhandled error on {Method} {Path}", httpContext.Request.Method, httpContext.Request.Path);
        }
        else if (exception is Npgsql.PostgresException refused)
        {
            logger.LogWarning("PostgreSQL refused a value of {Method} {Path} (SQLSTATE {SqlState}) that passed the edge checks",
                httpContext.Request.Method, httpContext.Request.Path, refused.SqlState);
        }

        httpContext.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = new ProblemDetails { Status = status, Detail = detail },
        });
    }

    /// <summary>
    /// Whether the rest of a body sent without <c>Content-Length</c> (chunked) takes it over the limit. A declared
    /// length is checked before the request runs (<see cref="RequestBodyLimitMiddleware"/>); a streamed one only as it
    /// is read, and a reader that failed early leaves the rest unread. Reading it costs at most the limit.
    /// </summary>
    private static async Task<bool> BodyOverLimitAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var request = context.Request;
        if (request.ContentLength is not null || context.Response.HasStarted)
        {
            return false;
        }

        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            while (await request.Body.ReadAsync(buffer, cancellationToken) > 0)
            {
            }

            return false;
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return true;
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            // The body broke off, or was already closed by its reader: nothing says it is over the limit.
            return false;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>A <c>503</c> to retry after <paramref name="retryAfterSeconds"/>: nothing was changed.</summary>
    private ValueTask<bool> UnavailableAsync(HttpContext httpContext, Exception exception, string retryAfterSeconds, string detail)
    {
        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers.RetryAfter = retryAfterSeconds;
        return problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = new ProblemDetails { Status = StatusCodes.Status503ServiceUnavailable, Title = "Service unavailable", Detail = detail },
        });
    }

    /// <summary>
    /// The field and a message for a value the JSON reader refused on purpose (<see cref="RejectedJsonException"/>), a
    /// property the request does not have, or a value of the wrong type; null for broken JSON, which has no field.
    /// </summary>
    private static (string Field, string Message)? FieldError(BadHttpRequestException exception)
    {
        if (exception.InnerException is JsonException json)
        {
            return JsonFieldError(json);
        }

        // Route and query values the binder could not convert:
        // limit=ten gives 'Failed to bind parameter "int? limit" from "ten".'
        var match = BindFailure().Match(exception.Message);
        return match.Success ? (match.Groups[1].Value, $"{match.Groups[1].Value} is not a value of the expected type (a whole number, a UUID, …).") : null;
    }

    [System.Text.RegularExpressions.GeneratedRegex("\\AFailed to bind parameter \"[^\"]* ([A-Za-z0-9_]+)\" from", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex BindFailure();

    [System.Text.RegularExpressions.GeneratedRegex("\\ADuplicate property '([^']*)' encountered", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex DuplicateName();

    private static (string Field, string Message)? JsonFieldError(JsonException json)
    {
        if (json.Message.StartsWith("Duplicate propert", StringComparison.Ordinal))
        {
            // AllowDuplicateProperties = false. The path names the repeated property (a field matched whatever its
            // case, a dictionary key), except for an extension attribute read from a stream, whose path stops at the
            // object and whose name only the message holds (read from a string, the message names a .NET member).
            var name = json.Path is { Length: > 1 } repeated
                ? repeated.StartsWith("$.", StringComparison.Ordinal) ? repeated[2..] : repeated[1..]
                : DuplicateName().Match(json.Message) is { Success: true } match ? match.Groups[1].Value : "body";
            return (name, $"{name} is given more than once; send each property once.");
        }

        if (json.Path is not { Length: > 2 } path || !path.StartsWith("$.", StringComparison.Ordinal))
        {
            return null;
        }

        var field = path[2..];
        if (json is RejectedJsonException rejected)
        {
            return (field, $"{field} {rejected.Message}");
        }

        // The reader's own messages name .NET types, so they are not passed on; its wording tells the cases apart.
        if (json.Message.Contains("could not be mapped to any .NET member", StringComparison.Ordinal))
        {
            return (field, $"{field} is not a field of this request.");
        }

        return json.Message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal)
            ? (field, $"{field} has the wrong type (numbers are JSON numbers, text is a JSON string).")
            : null;
    }

    private static string DescribeBadRequest(BadHttpRequestException exception, HttpContext context)
    {
        if (exception.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Problems.BodyTooLarge(context);
        }

        if (exception.StatusCode == StatusCodes.Status415UnsupportedMediaType)
        {
            return Problems.DefaultDetail(415);
        }

        if (exception.InnerException is JsonException json)
        {
            var where = json.Path is null or "$" ? "" : $" at '{json.Path}'";
            return json.LineNumber is { } line
                ? $"The request body is not valid JSON{where} (line {line + 1}, byte {json.BytePositionInLine + 1}): check the syntax and the value types."
                : $"The request body is not valid JSON{where}: check the syntax and the value types.";
        }

        if (exception.Message.Contains("was not provided", StringComparison.Ordinal))
        {
            return "A JSON request body is required.";
        }

        return exception.StatusCode == 400 ? "The request could not be read: check the path, query and body." : Problems.DefaultDetail(exception.StatusCode);
    }
}
