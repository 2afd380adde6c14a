namespace Insights.BigQuery;

/// <summary>
/// Reads result schemas and decodes row cells (<c>{"f": [{"v": ...}]}</c>) into CLR values:
/// STRING string, INT64 long, FLOAT64 double, NUMERIC/BIGNUMERIC decimal (string when decimal cannot hold it exactly),
/// BOOL bool, BYTES byte[], DATE DateOnly, DATETIME DateTime (unspecified kind), TIME TimeOnly,
/// TIMESTAMP DateTimeOffset (UTC, microseconds), JSON JsonElement, REPEATED IReadOnlyList&lt;object?&gt;,
/// RECORD IReadOnlyDictionary&lt;string, object?&gt;; GEOGRAPHY, INTERVAL, RANGE and unknown types stay strings.
/// </summary>
public static class BigQueryCells
{
    private static readonly string[] DateTimeFormats = ["yyyy-MM-dd'T'HH:mm:ss.FFFFFF", "yyyy-MM-dd HH:mm:ss.FFFFFF"];

    public static IReadOnlyList<BigQueryField> ReadSchema(JsonElement schema) =>
        schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("fields", out var fields) ? ReadFields(fields) : [];

    private static BigQueryField[] ReadFields(JsonElement fields)
    {
        if (fields.ValueKind != JsonValueKind.Array)
        {
            return [];
        }

        var result = new BigQueryField[fields.GetArrayLength()];
        var i = 0;
        foreach (var field in fields.EnumerateArray())
        {
            var name = field.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "";
            var typeName = field.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
            var mode = field.TryGetProperty("mode", out var m) ? ParseMode(m.GetString()) : BigQueryMode.Nullable;
            var children = field.TryGetProperty("fields", out var f) ? ReadFields(f) : [];
            result[i++] = new BigQueryField(name, ParseType(typeName), mode, typeName, children);
        }

        return result;
    }

    public static BigQueryType ParseType(string? name) => name?.ToUpperInvariant() switch
    {
        "STRING" => BigQueryType.String,
        "BYTES" => BigQueryType.Bytes,
        "INTEGER" or "INT64" => BigQueryType.Int64,
        "FLOAT" or "FLOAT64" => BigQueryType.Float64,
        "NUMERIC" or "DECIMAL" => BigQueryType.Numeric,
        "BIGNUMERIC" or "BIGDECIMAL" => BigQueryType.BigNumeric,
        "BOOLEAN" or "BOOL" => BigQueryType.Bool,
        "TIMESTAMP" => BigQueryType.Timestamp,
        "DATE" => BigQueryType.Date,
        "TIME" => BigQueryType.Time,
        "DATETIME" => BigQueryType.DateTime,
        "GEOGRAPHY" => BigQueryType.Geography,
        "JSON" => BigQueryType.Json,
        "INTERVAL" => BigQueryType.Interval,
        "RANGE" => BigQueryType.Range,
        "RECORD" or "STRUCT" => BigQueryType.Record,
        _ => BigQueryType.Unknown,
    };

    private static BigQueryMode ParseMode(string? mode) => mode?.ToUpperInvariant() switch
    {
        "REQUIRED" => BigQueryMode.Required,
        "REPEATED" => BigQueryMode.Repeated,
        _ => BigQueryMode.Nullable,
    };

    /// <summary>Decodes one row (<c>{"f": [...]}</c>) against the schema.</summary>
    public static BigQueryRow ReadRow(JsonElement row, IReadOnlyList<BigQueryField> schema, IReadOnlyDictionary<string, int> ordinals)
    {
        var values = new object?[schema.Count];
        if (row.ValueKind == JsonValueKind.Object && row.TryGetProperty("f", out var cells) && cells.ValueKind == JsonValueKind.Array)
        {
            var i = 0;
            foreach (var cell in cells.EnumerateArray())
            {
                if (i >= schema.Count)
                {
                    throw new FormatException($"A BigQuery row has more cells than its schema has fields ({schema.Count}).");
                }

                values[i] = Decode(CellValue(cell), schema[i]);
                i++;
            }
        }

        return new BigQueryRow(schema, ordinals, values);
    }

    public static Dictionary<string, int> Ordinals(IReadOnlyList<BigQueryField> schema)
    {
        var ordinals = new Dictionary<string, int>(schema.Count, StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < schema.Count; i++)
        {
            ordinals.TryAdd(schema[i].Name, i);
        }

        return ordinals;
    }

    /// <summary>Decodes the <c>v</c> of a cell for a field, honouring its mode.</summary>
    public static object? Decode(JsonElement value, BigQueryField field)
    {
        if (value.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return null;
        }

        if (field.Mode == BigQueryMode.Repeated)
        {
            if (value.ValueKind != JsonValueKind.Array)
            {
                throw new FormatException($"BigQuery column '{field.Name}' is REPEATED but its value is not an array.");
            }

            var items = new List<object?>(value.GetArrayLength());
            foreach (var item in value.EnumerateArray())
            {
                items.Add(DecodeSingle(CellValue(item), field));
            }

            return items.AsReadOnly();
        }

        return DecodeSingle(value, field);
    }

    private static JsonElement CellValue(JsonElement cell) =>
        cell.ValueKind == JsonValueKind.Object && cell.TryGetProperty("v", out var v) ? v : default;

    private static object? DecodeSingle(JsonElement value, BigQueryField field)
    {
        if (value.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return null;
        }

        if (field.Type == BigQueryType.Record)
        {
            return DecodeRecord(value, field);
        }

        var text = value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();
        try
        {
            return DecodeScalar(text, field.Type);
        }
        catch (Exception e) when (e is FormatException or OverflowException or JsonException)
        {
            throw new FormatException($"BigQuery column '{field.Name}' ({field.TypeName}) holds a value that is not valid for its type: '{Shorten(text)}'.", e);
        }
    }

    private static Dictionary<string, object?> DecodeRecord(JsonElement value, BigQueryField field)
    {
        if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty("f", out var cells) || cells.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException($"BigQuery column '{field.Name}' is a RECORD but its value has no 'f' array.");
        }

        var record = new Dictionary<string, object?>(field.Fields.Count, StringComparer.Ordinal);
        var i = 0;
        foreach (var cell in cells.EnumerateArray())
        {
            if (i >= field.Fields.Count)
            {
                throw new FormatException($"BigQuery column '{field.Name}' has more values than its RECORD has fields.");
            }

            var member = field.Fields[i++];
            record[member.Name] = Decode(CellValue(cell), member);
        }

        return record;
    }

    /// <summary>Decodes a scalar cell text of a non-RECORD type.</summary>
    public static object DecodeScalar(string text, BigQueryType type)
    {
        var invariant = CultureInfo.InvariantCulture;
        return type switch
        {
            BigQueryType.String => text,
            BigQueryType.Int64 => long.Parse(text, NumberStyles.AllowLeadingSign, invariant),
            BigQueryType.Float64 => double.Parse(text, NumberStyles.Float, invariant),
            BigQueryType.Numeric or BigQueryType.BigNumeric => ParseNumeric(text),
            BigQueryType.Bool => bool.Parse(text),
            BigQueryType.Bytes => Convert.FromBase64String(text),
            BigQueryType.Date => DateOnly.ParseExact(text, "yyyy-MM-dd", invariant),
            BigQueryType.DateTime => DateTime.ParseExact(text, DateTimeFormats, invariant, DateTimeStyles.None),
            BigQueryType.Time => TimeOnly.ParseExact(text, "HH:mm:ss.FFFFFF", invariant),
            BigQueryType.Timestamp => ParseTimestamp(text),
            BigQueryType.Json => ParseJson(text),
            _ => text,
        };
    }

    /// <summary>
    /// A TIMESTAMP cell: int64 microseconds since the epoch (what <c>useInt64Timestamp</c> asks for), or float seconds,
    /// possibly in scientific notation (<c>1.7638920E9</c>). Rounded to the microsecond, in UTC.
    /// </summary>
    public static DateTimeOffset ParseTimestamp(string text)
    {
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var micros))
        {
            return DateTimeOffset.UnixEpoch.AddTicks(checked(micros * 10));
        }

        // Decimal keeps every digit of the seconds, so microseconds survive the conversion exactly.
        var seconds = decimal.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
        var rounded = (long)Math.Round(seconds * 1_000_000m, MidpointRounding.AwayFromZero);
        return DateTimeOffset.UnixEpoch.AddTicks(checked(rounded * 10));
    }

    private static object ParseNumeric(string text)
    {
        // NUMERIC has 38 digits and BIGNUMERIC 76; decimal holds 28 exactly. Past that the text is kept as it came.
        if (SignificantDigits(text) > 28
            || !decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            _ = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
            return text;
        }

        return value;
    }

    private static int SignificantDigits(string text)
    {
        var mantissa = text.AsSpan();
        var exponent = mantissa.IndexOfAny('e', 'E');
        if (exponent >= 0)
        {
            mantissa = mantissa[..exponent];
        }

        var digits = new string([.. mantissa.ToArray().Where(char.IsAsciiDigit)]).TrimStart('0');
        if (mantissa.Contains('.'))
        {
            digits = digits.TrimEnd('0');
        }

        return digits.Length;
    }

    private static JsonElement ParseJson(string text)
    {
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..80] + "…";
}
