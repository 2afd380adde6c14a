using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Insights.Database;

/// <summary>
/// A validated PostgreSQL schema name of one tenant. This is the only way a schema name reaches SQL:
/// it is derived from a valid tenant id (or re-validated when read back from the catalog) and always quoted.
/// </summary>
public readonly partial record struct SchemaName
{
    private const string Prefix = "t_";
    private const int ReadableLength = 48;
    private const int HashLength = 10;

    [GeneratedRegex("\\At_[a-z0-9_]{1,61}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    /// <summary>The shape of a tenant id (<c>Insights.Tenancy.TenantId</c> states the rule for requests).</summary>
    [GeneratedRegex("\\A[A-Za-z0-9_-]{1,64}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex TenantIdPattern();

    private SchemaName(string value) => Value = value;

    /// <summary>The bare identifier (at most 63 bytes, lowercase ASCII).</summary>
    public string Value { get; }

    /// <summary>The identifier quoted for SQL text.</summary>
    internal string Quoted => "\"" + Value + "\"";

    /// <summary>
    /// <c>t_</c> + a readable, lowercased form of the id (at most 48 characters) + <c>_</c> + 10 base32 characters
    /// of the SHA-256 of the exact id, so ids that differ only by case or by '-' vs '_' get different schemas.
    /// </summary>
    public static SchemaName ForTenant(string tenantId)
    {
        if (!TenantIdPattern().IsMatch(tenantId))
        {
            throw new ArgumentException("Tenant id must be 1–64 characters of A–Z, a–z, 0–9, '_' and '-'.", nameof(tenantId));
        }

        var readable = tenantId.ToLowerInvariant().Replace('-', '_');
        if (readable.Length > ReadableLength)
        {
            readable = readable[..ReadableLength];
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(tenantId));
        return new SchemaName(Prefix + readable + "_" + Base32(hash, HashLength));
    }

    /// <summary>Re-validates a name read back from the catalog.</summary>
    public static SchemaName Parse(string value) =>
        Pattern().IsMatch(value) ? new SchemaName(value) : throw new FormatException("Not a tenant schema name.");

    public override string ToString() => Value;

    private static string Base32(byte[] bytes, int length)
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyz234567";
        var builder = new StringBuilder(length);
        int buffer = 0, bits = 0, index = 0;
        while (builder.Length < length)
        {
            if (bits < 5)
            {
                buffer = (buffer << 8) | bytes[index++];
                bits += 8;
            }

            builder.Append(alphabet[(buffer >> (bits - 5)) & 31]);
            bits -= 5;
        }

        return builder.ToString();
    }
}
