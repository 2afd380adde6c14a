using System.Net;

namespace Insights.BigQuery;

/// <summary>
/// A BigQuery call that failed for good: a non-retryable error, or a transient one that outlived the retries.
/// <see cref="IsRetryable"/> says whether running the same work later may succeed.
/// </summary>
public sealed class BigQueryException : Exception
{
    public BigQueryException()
    {
    }

    public BigQueryException(string message)
        : base(message)
    {
    }

    public BigQueryException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public BigQueryException(string message, string? reason, HttpStatusCode? statusCode, bool isRetryable, Exception? innerException = null)
        : base(message, innerException)
    {
        Reason = reason;
        StatusCode = statusCode;
        IsRetryable = isRetryable;
    }

    /// <summary>
    /// Google's <c>error.errors[0].reason</c> (e.g. <c>accessDenied</c>), or a transport cause such as <c>timeout</c>.
    /// </summary>
    public string? Reason { get; }

    /// <summary>The HTTP status of the last answer; null when none came (network failure).</summary>
    public HttpStatusCode? StatusCode { get; }

    public bool IsRetryable { get; }
}
