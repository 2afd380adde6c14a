using System.Text.RegularExpressions;
using Insights.Ingestion;

namespace Insights.OnlineInsights;

/// <summary>The checks of a request, shared by the HTTP endpoint and the queue.</summary>
public static partial class OnlineInsightQuery
{
    public const int MaxKeyLength = 200;
    public const int MaxFilterLength = 1000;
    public const int MaxParameters = 20;
    public const int MaxParameterLength = 1000;

    /// <summary>A queued request's data is read as strictly as an HTTP body (it was checked as one).</summary>
    public static JsonSerializerOptions DataOptions => Http.StrictJson.Options;

    [GeneratedRegex("\\A[A-Za-z_][A-Za-z0-9_]{0,63}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex ParameterName();

    /// <summary>
    /// Checks <paramref name="body"/>; returns the errors by field, or null with the bus request in
    /// <paramref name="request"/>.
    /// </summary>
    public static Dictionary<string, string[]>? Check(string tenantId, OnlineInsightRequestBody body, string fieldPrefix, out GetOnlineInsight? request)
    {
        request = null;
        var errors = new Dictionary<string, string[]>();
        var insight = body.Insight?.Trim();
        if (string.IsNullOrEmpty(insight))
        {
            errors[fieldPrefix + "insight"] = ["insight is required."];
        }
        else if (!InsightDefinitionCatalog.NamePattern().IsMatch(insight))
        {
            errors[fieldPrefix + "insight"] = ["insight must start with a letter and hold up to 100 letters, digits, '_', '.' and '-'."];
        }

        if (body.Key?.Length > MaxKeyLength)
        {
            errors[fieldPrefix + "key"] = [$"key must be at most {MaxKeyLength} characters."];
        }

        if (body.Filter?.Length > MaxFilterLength)
        {
            errors[fieldPrefix + "filter"] = [$"filter must be at most {MaxFilterLength} characters."];
        }

        var dateFrom = Date(body.DateFrom, fieldPrefix + "dateFrom", errors);
        var dateTo = Date(body.DateTo, fieldPrefix + "dateTo", errors);
        if (dateFrom > dateTo)
        {
            errors[fieldPrefix + "dateTo"] = ["dateTo must not be before dateFrom."];
        }

        var parameters = Parameters(body.Parameters, fieldPrefix + "parameters", errors);
        if (errors.Count > 0)
        {
            return errors;
        }

        request = new GetOnlineInsight(tenantId, insight!, body.Key, body.Filter, dateFrom, dateTo, parameters);
        return null;
    }

    /// <summary>Reads the <c>data</c> of an <c>OnlineInsightRequest</c> message; unknown members are ignored.</summary>
    public static Dictionary<string, string[]>? CheckData(string tenantId, string dataJson, out GetOnlineInsight? request)
    {
        request = null;
        OnlineInsightRequestBody? body;
        try
        {
            body = JsonSerializer.Deserialize<OnlineInsightRequestBody>(dataJson, DataOptions);
        }
        catch (JsonException e)
        {
            var where = e.Path is null or "$" ? "data" : "data" + e.Path[1..];
            return new Dictionary<string, string[]> { [where] = ["data does not hold the fields of an OnlineInsightRequest with their types."] };
        }

        return body is null
            ? new Dictionary<string, string[]> { ["data"] = ["data must be a JSON object."] }
            : Check(tenantId, body, "data.", out request);
    }

    private static DateOnly? Date(string? text, string field, Dictionary<string, string[]> errors)
    {
        if (text is null)
        {
            return null;
        }

        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            return date;
        }

        errors[field] = [$"{field[(field.LastIndexOf('.') + 1)..]} must be a date as YYYY-MM-DD."];
        return null;
    }

    private static Dictionary<string, string>? Parameters(Dictionary<string, JsonElement>? parameters, string field, Dictionary<string, string[]> errors)
    {
        if (parameters is null || parameters.Count == 0)
        {
            return null;
        }

        if (parameters.Count > MaxParameters)
        {
            errors[field] = [$"parameters may hold at most {MaxParameters} entries."];
            return null;
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var (name, value) in parameters)
        {
            if (!ParameterName().IsMatch(name) || OnlineInsightAnswerer.ReservedParameters.Contains(name))
            {
                problems.Add($"'{Shorten(name)}' is not a parameter name: use up to 64 letters, digits and '_', not one of {string.Join(", ", OnlineInsightAnswerer.ReservedParameters)}.");
                continue;
            }

            string? text = value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Number => value.GetRawText(),
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                _ => null,
            };
            if (text is null || text.Length > MaxParameterLength)
            {
                problems.Add($"'{name}' must be a string, number or boolean of at most {MaxParameterLength} characters.");
                continue;
            }

            result[name] = text;
        }

        if (problems.Count > 0)
        {
            errors[field] = [.. problems];
        }

        return result;
    }

    private static string Shorten(string text) => text.Length <= 64 ? text : text[..64] + "...";
}
