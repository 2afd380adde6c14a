using System.Buffers;

namespace Insights.SmartLink;

/// <summary>
/// Writes the envelopes of one batch (one tenant, one enqueue time) into one reused buffer: the parts common to the
/// batch are encoded once, and a message's envelope costs no allocation.
/// </summary>
public sealed class EnvelopeWriter : IDisposable
{
    private static readonly JsonEncodedText SpecVersionName = JsonEncodedText.Encode("specversion");
    private static readonly JsonEncodedText SpecVersionValue = JsonEncodedText.Encode(Envelope.SpecVersion);
    private static readonly JsonEncodedText IdName = JsonEncodedText.Encode("id");
    private static readonly JsonEncodedText TypeName = JsonEncodedText.Encode("type");
    private static readonly JsonEncodedText SourceName = JsonEncodedText.Encode("source");
    private static readonly JsonEncodedText TimeName = JsonEncodedText.Encode("time");
    private static readonly JsonEncodedText ContentTypeName = JsonEncodedText.Encode("datacontenttype");
    private static readonly JsonEncodedText ContentTypeValue = JsonEncodedText.Encode("application/json");
    private static readonly JsonEncodedText TenantIdName = JsonEncodedText.Encode("tenantId");
    private static readonly JsonEncodedText PriorityName = JsonEncodedText.Encode("priority");
    private static readonly JsonEncodedText High = JsonEncodedText.Encode(Envelope.PriorityName(MessagePriority.High));
    private static readonly JsonEncodedText Normal = JsonEncodedText.Encode(Envelope.PriorityName(MessagePriority.Normal));
    private static readonly JsonEncodedText DataName = JsonEncodedText.Encode("data");

    private readonly ArrayBufferWriter<byte> buffer = new(4096);
    private readonly Utf8JsonWriter writer;
    private readonly JsonEncodedText source;
    private readonly JsonEncodedText time;
    private readonly JsonEncodedText tenantId;
    private string? type;
    private JsonEncodedText typeText;

    public EnvelopeWriter(string tenantId, DateTimeOffset time)
    {
        writer = new Utf8JsonWriter(buffer, Envelope.WriterOptions);
        source = JsonEncodedText.Encode(Envelope.Source(tenantId), Envelope.WriterOptions.Encoder);
        this.time = JsonEncodedText.Encode(
            time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture), Envelope.WriterOptions.Encoder);
        this.tenantId = JsonEncodedText.Encode(tenantId, Envelope.WriterOptions.Encoder);
    }

    /// <summary>The message's envelope; valid until the next call.</summary>
    public ReadOnlyMemory<byte> Write(OutgoingMessage message)
    {
        if (!string.Equals(type, message.Type, StringComparison.Ordinal))
        {
            type = message.Type;
            typeText = JsonEncodedText.Encode(message.Type, Envelope.WriterOptions.Encoder);
        }

        buffer.ResetWrittenCount();
        writer.Reset();
        writer.WriteStartObject();
        writer.WriteString(SpecVersionName, SpecVersionValue);
        writer.WriteString(IdName, message.Id);
        writer.WriteString(TypeName, typeText);
        writer.WriteString(SourceName, source);
        writer.WriteString(TimeName, time);
        writer.WriteString(ContentTypeName, ContentTypeValue);
        writer.WriteString(TenantIdName, tenantId);
        writer.WriteString(PriorityName, message.Priority == MessagePriority.High ? High : Normal);
        writer.WritePropertyName(DataName);
        writer.WriteRawValue(message.Data.Span, skipInputValidation: true);
        writer.WriteEndObject();
        writer.Flush();
        return buffer.WrittenMemory;
    }

    public void Dispose() => writer.Dispose();
}
