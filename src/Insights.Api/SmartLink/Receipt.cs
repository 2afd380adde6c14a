using System.Buffers.Text;

namespace Insights.SmartLink;

/// <summary>
/// Names one delivery of one message: the message id and the lease id of that delivery. A new delivery gets a new lease
/// id, so an old receipt never acknowledges a newer delivery. Receipts are only ever looked up in the caller's schema.
/// </summary>
public readonly record struct Receipt(Guid MessageId, Guid LeaseId)
{
    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[32];
        MessageId.TryWriteBytes(bytes[..16]);
        LeaseId.TryWriteBytes(bytes[16..]);
        return Base64Url.EncodeToString(bytes);
    }

    public static bool TryParse(string? text, out Receipt receipt)
    {
        receipt = default;
        if (text is null || text.Length != 43)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[32];
        if (!Base64Url.TryDecodeFromChars(text, bytes, out var written) || written != 32)
        {
            return false;
        }

        receipt = new Receipt(new Guid(bytes[..16]), new Guid(bytes[16..]));
        return true;
    }
}
