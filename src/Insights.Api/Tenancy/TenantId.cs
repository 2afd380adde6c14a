using System.Text.RegularExpressions;

namespace Insights.Tenancy;

/// <summary>Tenant ids: 1–64 characters of <c>[A-Za-z0-9_-]</c>.</summary>
public static partial class TenantId
{
    public const int MaxLength = 64;
    public const string Rule = "1–64 characters of A–Z, a–z, 0–9, '_' and '-'";

    [GeneratedRegex("\\A[A-Za-z0-9_-]{1,64}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    public static bool IsValid(string? id) => id is not null && Pattern().IsMatch(id);
}
