using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Insights.SmartLink;

public enum MessagePriority : short
{
    Normal = 0,
    High = 1,
}

/// <summary>
/// A message the service puts on a tenant's queue; <see cref="Data"/> is the UTF-8 JSON of <c>data</c>, valid JSON
/// (the database checks it again as it stores the envelope).
/// </summary>
public sealed record OutgoingMessage(Guid Id, string Type, MessagePriority Priority, ReadOnlyMemory<byte> Data)
{
    public OutgoingMessage(Guid id, string type, MessagePriority priority, string dataJson)
        : this(id, type, priority, Encoding.UTF8.GetBytes(dataJson))
    {
    }

    public static OutgoingMessage Create(string type, MessagePriority priority, string dataJson) =>
        new(MessageIds.Next(), type, priority, dataJson);

    public static OutgoingMessage Create(string type, MessagePriority priority, ReadOnlyMemory<byte> data) =>
        new(MessageIds.Next(), type, priority, data);
}

/// <summary>Builds the SmartLink envelope (CloudEvents 1.0 JSON with <c>tenantId</c> and <c>priority</c>).</summary>
public static class Envelope
{
    public const string SpecVersion = "1.0";

    /// <summary>Only what JSON requires is escaped: Protheus reads quotes and accents as they are.</summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Source(string tenantId) => "/insights/tenants/" + tenantId;

    public static string PriorityName(MessagePriority priority) => priority == MessagePriority.High ? "high" : "normal";

    /// <summary>The envelope's UTF-8 JSON, as the queue table stores it.</summary>
    public static byte[] Build(string tenantId, OutgoingMessage message, DateTimeOffset time)
    {
        var buffer = new ArrayBufferWriter<byte>(256 + message.Data.Length);
        using (var writer = new Utf8JsonWriter(buffer, Envelope.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("specversion", SpecVersion);
            writer.WriteString("id", message.Id);
            writer.WriteString("type", message.Type);
            writer.WriteString("source", Source(tenantId));
            writer.WriteString("time", time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture));
            writer.WriteString("datacontenttype", "application/json");
            writer.WriteString("tenantId", tenantId);
            writer.WriteString("priority", PriorityName(message.Priority));
            writer.WritePropertyName("data");
            writer.WriteRawValue(message.Data.Span, skipInputValidation: true);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
