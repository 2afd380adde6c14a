using System.Buffers.Text;

namespace Insights.Http;

/// <summary>Opaque cursors: the last item's sort key in base64url. A cursor that does not decode is a 400.</summary>
public static class Cursor
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static string Encode(string key) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(key));

    public static bool TryDecode(string? cursor, out string? key)
    {
        key = null;
        if (string.IsNullOrEmpty(cursor))
        {
            return true;
        }

        if (cursor.Length > 1024 || !Base64Url.IsValid(cursor))
        {
            return false;
        }

        try
        {
            // Our cursors decode to valid UTF-8 without NUL; anything else is made up and must not reach SQL.
            key = StrictUtf8.GetString(Base64Url.DecodeFromChars(cursor));
            if (key.Contains('\0'))
            {
                key = null;
                return false;
            }

            return true;
        }
        catch (Exception e) when (e is FormatException or DecoderFallbackException)
        {
            key = null;
            return false;
        }
    }

    /// <summary>Checks <c>limit</c> and <c>cursor</c>: the validation errors, or null when both are fine.</summary>
    public static Dictionary<string, string[]>? Check(int? limit, string? cursor, out int pageSize, out string? after)
    {
        pageSize = limit ?? DefaultLimit;
        var errors = new Dictionary<string, string[]>();
        if (pageSize is < 1 or > MaxLimit)
        {
            errors["limit"] = [$"limit must be between 1 and {MaxLimit}."];
        }

        if (!TryDecode(cursor, out after))
        {
            errors["cursor"] = ["cursor is not a cursor this API returned."];
        }

        return errors.Count == 0 ? null : errors;
    }
}
