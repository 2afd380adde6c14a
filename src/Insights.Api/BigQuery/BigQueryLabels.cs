namespace Insights.BigQuery;

/// <summary>BigQuery label values: lowercase letters, digits, '_' and '-', at most 63 characters.</summary>
public static class BigQueryLabels
{
    public const int MaxLength = 63;

    public static string Sanitize(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }

        var result = new StringBuilder(Math.Min(value.Length, MaxLength));
        foreach (var c in value)
        {
            if (result.Length == MaxLength)
            {
                break;
            }

            var lower = char.ToLowerInvariant(c);
            result.Append(char.IsAsciiLetterLower(lower) || char.IsAsciiDigit(lower) || lower is '_' or '-' ? lower : '_');
        }

        return result.ToString();
    }
}
