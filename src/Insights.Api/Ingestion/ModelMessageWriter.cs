using System.Buffers;
using Insights.SmartLink;

namespace Insights.Ingestion;

/// <summary>
/// Writes the data of <c>InsightModel</c> messages (UTF-8 JSON, as the contract's envelope shows it) through one
/// reused buffer: a message's data costs one array of its exact size.
/// </summary>
internal sealed class ModelMessageWriter : IDisposable
{
    public const string MessageType = "InsightModel";

    private static readonly JsonEncodedText Uuid = JsonEncodedText.Encode("uuid");
    private static readonly JsonEncodedText Insight = JsonEncodedText.Encode("insight");
    private static readonly JsonEncodedText Module = JsonEncodedText.Encode("module");
    private static readonly JsonEncodedText Key = JsonEncodedText.Encode("key");
    private static readonly JsonEncodedText Filter = JsonEncodedText.Encode("filter");
    private static readonly JsonEncodedText DateFrom = JsonEncodedText.Encode("dateFrom");
    private static readonly JsonEncodedText DateTo = JsonEncodedText.Encode("dateTo");
    private static readonly JsonEncodedText Version = JsonEncodedText.Encode("version");
    private static readonly JsonEncodedText UpdatedAt = JsonEncodedText.Encode("updatedAt");
    private static readonly JsonEncodedText Deleted = JsonEncodedText.Encode("deleted");
    private static readonly JsonEncodedText Payload = JsonEncodedText.Encode("payload");

    private readonly ArrayBufferWriter<byte> buffer = new(4096);
    private readonly Utf8JsonWriter writer;

    public ModelMessageWriter() => writer = new Utf8JsonWriter(buffer, Envelope.WriterOptions);

    public byte[] Write(SourceModel model)
    {
        buffer.ResetWrittenCount();
        writer.Reset();
        writer.WriteStartObject();
        writer.WriteString(Uuid, model.Id);
        writer.WriteString(Insight, model.Insight);
        writer.WriteString(Module, model.Module);
        WriteNullable(Key, model.Key);
        WriteNullable(Filter, model.Filter);
        WriteDate(DateFrom, model.DateFrom);
        WriteDate(DateTo, model.DateTo);
        writer.WriteNumber(Version, model.Version);

        // Microseconds at most (source timestamps are truncated to them), trailing zeros and a zero fraction left out.
        Span<byte> text = stackalloc byte[32];
        model.UpdatedAt.UtcDateTime.TryFormat(text, out var length, "yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'", CultureInfo.InvariantCulture);
        writer.WriteString(UpdatedAt, text[..length]);
        writer.WriteBoolean(Deleted, model.Deleted);
        writer.WritePropertyName(Payload);

        // The payload is stored as jsonb in the same transaction, which rejects the page if it is not JSON.
        writer.WriteRawValue(model.PayloadJson, skipInputValidation: true);
        writer.WriteEndObject();
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    public void Dispose() => writer.Dispose();

    private void WriteNullable(JsonEncodedText name, string? value)
    {
        if (value is null)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteString(name, value);
        }
    }

    private void WriteDate(JsonEncodedText name, DateOnly? value)
    {
        if (value is not { } date)
        {
            writer.WriteNull(name);
            return;
        }

        Span<byte> text = stackalloc byte[10];
        date.TryFormat(text, out var length, "yyyy-MM-dd", CultureInfo.InvariantCulture);
        writer.WriteString(name, text[..length]);
    }
}
