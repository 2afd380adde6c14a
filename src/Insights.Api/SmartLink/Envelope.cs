namespace Insights.SmartLink;

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
        using var writer = new EnvelopeWriter(tenantId, time);
        return writer.Write(message).ToArray();
    }
}
