using System.Text.Json.Serialization;
using System.Text.Unicode;

namespace Insights.Http;

/// <summary>
/// How every JSON body is read, in one place: values that PostgreSQL or the JSON reader cannot hold are refused as
/// they are read, so no endpoint (and no message a client sends through the queue) needs a check of its own.
/// <list type="bullet">
/// <item>Strings (values and property names, in typed fields and in free-form JSON) hold no NUL character and no
/// unpaired surrogate: PostgreSQL's <c>text</c> and <c>jsonb</c> refuse both.</item>
/// <item>Numbers are JSON numbers, never strings; free-form JSON holds only numbers a 64-bit float can hold
/// (<c>jsonb</c> refuses exponents its <c>numeric</c> cannot hold).</item>
/// <item>A property a request does not have is an error, not silently ignored.</item>
/// <item>A property name given twice in one object, at any depth, is an error: which value counts would otherwise be
/// the reader's choice (the last, here; the first, or both, elsewhere).</item>
/// </list>
/// </summary>
public static class StrictJson
{
    /// <summary>
    /// The HTTP endpoints' options, for reading what a client sent outside an HTTP body (e.g. a message's <c>data</c>).
    /// </summary>
    public static readonly JsonSerializerOptions Options = Apply(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    public static JsonSerializerOptions Apply(JsonSerializerOptions options)
    {
        options.NumberHandling = JsonNumberHandling.Strict;
        options.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        options.AllowDuplicateProperties = false;
        options.Converters.Insert(0, new StrictStringConverter());
        options.Converters.Insert(1, new StrictElementConverter());
        return options;
    }

    private const string NotUnicode = "must be valid Unicode text (UTF-8, no unpaired surrogate escapes).";

    /// <summary>The reason a string cannot be stored, or null when it can.</summary>
    public static string? Problem(string value) =>
        value.Contains('\0') ? "must not contain NUL characters (\\u0000)."
        : HasUnpairedSurrogate(value) ? NotUnicode
        : null;

    private static bool HasUnpairedSurrogate(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(value[i]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Reads the current string token, refusing what cannot be stored.</summary>
    internal static string ReadString(ref Utf8JsonReader reader)
    {
        string value;
        try
        {
            value = reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            // Bytes that are not UTF-8, or an escape such as "\ud800" that is not a valid UTF-16 sequence.
            throw new RejectedJsonException(NotUnicode);
        }

        return Problem(value) is { } problem ? throw new RejectedJsonException(problem) : value;
    }

    private sealed class StrictStringConverter : JsonConverter<string>
    {
        public override string Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.String
                ? ReadString(ref reader)
                : throw new RejectedJsonException("must be a string.");

        public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);

        public override string ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            ReadString(ref reader);

        public override void WriteAsPropertyName(Utf8JsonWriter writer, string value, JsonSerializerOptions options) =>
            writer.WritePropertyName(value);
    }

    /// <summary>
    /// Free-form JSON (settings, a message's data, parameters): every string and number is checked, and, unless the
    /// options allow them, no object names a property twice.
    /// </summary>
    private sealed class StrictElementConverter : JsonConverter<JsonElement>
    {
        public override JsonElement Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            // The serializer buffers the whole value before calling a converter, so a reader copy can walk it first.
            var scan = reader;
            Check(ref scan, options.AllowDuplicateProperties);
            return JsonElement.ParseValue(ref reader);
        }

        public override void Write(Utf8JsonWriter writer, JsonElement value, JsonSerializerOptions options) => value.WriteTo(writer);

        private static void Check(ref Utf8JsonReader reader, bool allowDuplicates)
        {
            CheckToken(ref reader);
            if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
            {
                return;
            }

            // The objects and arrays around the reader, outermost first. A converter of JsonElement bypasses the
            // serializer's own duplicate check, so it is done here, naming where the duplicate is.
            var open = allowDuplicates ? null : new List<Container> { new(reader.TokenType == JsonTokenType.StartArray) };
            var depth = reader.CurrentDepth;
            while (reader.Read())
            {
                CheckToken(ref reader);
                if (open is not null)
                {
                    Track(ref reader, open);
                }

                if (reader.CurrentDepth == depth && reader.TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray)
                {
                    return;
                }
            }
        }

        private static void Track(ref Utf8JsonReader reader, List<Container> open)
        {
            var inner = open[^1];
            switch (reader.TokenType)
            {
                case JsonTokenType.PropertyName:
                    var name = reader.GetString()!;
                    if (!(inner.Names ??= new HashSet<string>(StringComparer.Ordinal)).Add(name))
                    {
                        throw new RejectedJsonException($"holds the property '{Path(open, name)}' more than once; each property may appear once.");
                    }

                    inner.Property = name;
                    return;
                case JsonTokenType.EndObject or JsonTokenType.EndArray:
                    open.RemoveAt(open.Count - 1);
                    return;
                case JsonTokenType.Comment:
                    return;
            }

            // A value: in an array it is the next element.
            if (inner.IsArray)
            {
                inner.Index++;
            }

            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                open.Add(new Container(reader.TokenType == JsonTokenType.StartArray));
            }
        }

        /// <summary>Where <paramref name="name"/> is, from the free-form value's top: <c>a.b[2].name</c>.</summary>
        private static string Path(List<Container> open, string name)
        {
            var path = new StringBuilder();
            foreach (var container in open.Take(open.Count - 1))
            {
                if (container.IsArray)
                {
                    path.Append('[').Append(container.Index).Append(']');
                }
                else
                {
                    path.Append(path.Length == 0 ? "" : ".").Append(container.Property);
                }
            }

            return path.Append(path.Length == 0 ? "" : ".").Append(name).ToString();
        }

        private sealed class Container(bool isArray)
        {
            public bool IsArray { get; } = isArray;

            /// <summary>An object's property names so far, from its first.</summary>
            public HashSet<string>? Names { get; set; }

            /// <summary>An object's last property name: the one whose value is open inside it.</summary>
            public string? Property { get; set; }

            /// <summary>An array's last element index.</summary>
            public int Index { get; set; } = -1;
        }

        private static void CheckToken(ref Utf8JsonReader reader)
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.String or JsonTokenType.PropertyName when reader.ValueIsEscaped || reader.HasValueSequence:
                    ReadString(ref reader);
                    break;
                case JsonTokenType.String or JsonTokenType.PropertyName when !Utf8.IsValid(reader.ValueSpan):
                    // The reader checks structure, not the bytes inside strings; unescaped text holds no control
                    // characters, so valid UTF-8 is all that is left to check.
                    throw new RejectedJsonException(NotUnicode);
                case JsonTokenType.Number when !reader.TryGetDouble(out var number) || !double.IsFinite(number):
                    throw new RejectedJsonException("holds a number too large to store.");
            }
        }
    }
}
