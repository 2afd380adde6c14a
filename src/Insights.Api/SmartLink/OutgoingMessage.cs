namespace Insights.SmartLink;

/// <summary>
/// A message the service puts on a tenant's queue; <see cref="Data"/> is the UTF-8 JSON of <c>data</c>, which must be
/// valid JSON: the envelope is stored as the text written (the text constructor checks it; writers of UTF-8 data build
/// it from JSON that is valid by construction).
/// </summary>
public sealed record OutgoingMessage(Guid Id, string Type, MessagePriority Priority, ReadOnlyMemory<byte> Data)
{
    /// <summary>A message whose data is JSON text, checked here: it is stored as written.</summary>
    public OutgoingMessage(Guid id, string type, MessagePriority priority, string dataJson)
        : this(id, type, priority, Checked(dataJson))
    {
    }

    public static OutgoingMessage Create(string type, MessagePriority priority, string dataJson) =>
        new(MessageIds.Next(), type, priority, dataJson);

    public static OutgoingMessage Create(string type, MessagePriority priority, ReadOnlyMemory<byte> data) =>
        new(MessageIds.Next(), type, priority, data);

    private static byte[] Checked(string json)
    {
        var data = Encoding.UTF8.GetBytes(json);
        using (JsonDocument.Parse(data))
        {
            return data;
        }
    }
}
