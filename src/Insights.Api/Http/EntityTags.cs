using Microsoft.Net.Http.Headers;

namespace Insights.Http;

/// <summary>
/// Strong entity tags of catalog rows, from the row version PostgreSQL keeps (<c>xmin</c>: it changes with every write of
/// the row), and the <c>If-Match</c> precondition (RFC 9110 §13.1.1) that makes a write of a stale copy a 412.
/// </summary>
public static class EntityTags
{
    public static string Of(uint version) => $"\"{version}\"";

    /// <summary>
    /// Reads <c>If-Match</c>: false when it is malformed; <paramref name="versions"/> null when there is none or it is
    /// <c>*</c> (any current version), else the versions it names (weak tags never match and are left out).
    /// </summary>
    public static bool TryReadIfMatch(HttpRequest request, out string[]? versions)
    {
        versions = null;
        var header = request.Headers.IfMatch;
        if (header.Count == 0)
        {
            return true;
        }

        if (!EntityTagHeaderValue.TryParseStrictList(header, out var tags) || tags.Count == 0)
        {
            return false;
        }

        if (tags.Any(t => t.Equals(EntityTagHeaderValue.Any)))
        {
            return true;
        }

        versions = [.. tags.Where(t => !t.IsWeak).Select(t => t.Tag.ToString().Trim('"'))];
        return true;
    }

    public static ProblemHttpResult Malformed() => TypedResults.Problem(
        title: "Invalid If-Match",
        detail: "If-Match must be * or a list of entity tags as an ETag header gave them, e.g. \"1234\".",
        statusCode: StatusCodes.Status400BadRequest);

    public static ProblemHttpResult Stale(string what) => TypedResults.Problem(
        title: "Precondition failed",
        detail: $"The {what} changed since the version If-Match names; GET it again (ETag) and retry with the new one.",
        statusCode: StatusCodes.Status412PreconditionFailed);
}
