namespace Insights.SmartLink;

/// <summary>
/// UUIDv7 message ids that increase within this process (RFC 9562, method 1: a 12-bit counter after the millisecond
/// timestamp), so ids sort in enqueue order: admins browse queues by id. Across nodes they sort to the millisecond.
/// </summary>
public static class MessageIds
{
    private static readonly Lock Gate = new();
    private static long lastMilliseconds;
    private static int counter;

    public static Guid Next()
    {
        long milliseconds;
        int sequence;
        lock (Gate)
        {
            milliseconds = Math.Max(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), lastMilliseconds);
            if (milliseconds == lastMilliseconds)
            {
                counter++;
                if (counter > 0xFFF)
                {
                    // 4,096 ids in one millisecond: borrow the next one.
                    milliseconds++;
                    counter = 0;
                }
            }
            else
            {
                counter = Random.Shared.Next(0, 0x800);
            }

            lastMilliseconds = milliseconds;
            sequence = counter;
        }

        Span<byte> bytes = stackalloc byte[16];
        Random.Shared.NextBytes(bytes[8..]);
        bytes[0] = (byte)(milliseconds >> 40);
        bytes[1] = (byte)(milliseconds >> 32);
        bytes[2] = (byte)(milliseconds >> 24);
        bytes[3] = (byte)(milliseconds >> 16);
        bytes[4] = (byte)(milliseconds >> 8);
        bytes[5] = (byte)milliseconds;
        bytes[6] = (byte)(0x70 | (sequence >> 8));
        bytes[7] = (byte)sequence;
        bytes[8] = (byte)(0x80 | (bytes[8] & 0x3F));
        return new Guid(bytes, bigEndian: true);
    }

    /// <summary>
    /// The id of the message answering <paramref name="cause"/> (a UUIDv7 message id): the same for every call, so a
    /// redelivered cause maps to the same answer. It keeps the cause's millisecond timestamp, so it sorts by time; the
    /// rest is a hash of the cause and <paramref name="purpose"/>.
    /// </summary>
    public static Guid DerivedFrom(Guid cause, string purpose)
    {
        Span<byte> causeBytes = stackalloc byte[16];
        cause.TryWriteBytes(causeBytes, bigEndian: true, out _);
        var input = new byte[16 + System.Text.Encoding.UTF8.GetByteCount(purpose)];
        causeBytes.CopyTo(input);
        System.Text.Encoding.UTF8.GetBytes(purpose, input.AsSpan(16));
        Span<byte> bytes = stackalloc byte[32];
        System.Security.Cryptography.SHA256.HashData(input, bytes);
        causeBytes[..6].CopyTo(bytes);
        bytes[6] = (byte)(0x70 | (bytes[6] & 0x0F));
        bytes[8] = (byte)(0x80 | (bytes[8] & 0x3F));
        return new Guid(bytes[..16], bigEndian: true);
    }
}
