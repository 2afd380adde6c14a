using System.Buffers;

namespace Insights.Http;

/// <summary>Recognises and rewrites Kestrel's bodyless error response: an ASCII status line and headers only.</summary>
internal static class BodylessError
{
    /// <summary>Whether the bytes are exactly one response of this status with <c>Content-Length: 0</c>.</summary>
    public static bool Matches(ReadOnlySpan<byte> response, int status)
    {
        if (!response.StartsWith(Encoding.ASCII.GetBytes($"HTTP/1.1 {status} ")) || response.IndexOf("\r\n\r\n"u8) != response.Length - 4)
        {
            return false;
        }

        var zeroLength = false;
        foreach (var line in Lines(response[..^4]))
        {
            if (Named(line, "Content-Length:"u8))
            {
                zeroLength = line.AsSpan("Content-Length:"u8.Length).Trim((byte)' ').SequenceEqual("0"u8);
            }
            else if (Named(line, "Content-Type:"u8) || Named(line, "Transfer-Encoding:"u8))
            {
                return false;
            }
        }

        return zeroLength;
    }

    /// <summary>The same status line and headers, with the problem's media type and length.</summary>
    public static byte[] Rewrite(ReadOnlySpan<byte> response, string contentType, int bodyLength)
    {
        var output = new ArrayBufferWriter<byte>(response.Length + 64);
        foreach (var line in Lines(response[..^4]))
        {
            if (!Named(line, "Content-Length:"u8))
            {
                output.Write(line);
                output.Write("\r\n"u8);
            }
        }

        output.Write(Encoding.ASCII.GetBytes($"Content-Type: {contentType}\r\nContent-Length: {bodyLength}\r\n\r\n"));
        return output.WrittenSpan.ToArray();
    }

    private static bool Named(ReadOnlySpan<byte> line, ReadOnlySpan<byte> name) =>
        line.Length >= name.Length && Ascii.EqualsIgnoreCase(line[..name.Length], name);

    private static List<byte[]> Lines(ReadOnlySpan<byte> block)
    {
        var lines = new List<byte[]>();
        while (true)
        {
            var end = block.IndexOf("\r\n"u8);
            if (end < 0)
            {
                lines.Add(block.ToArray());
                return lines;
            }

            lines.Add(block[..end].ToArray());
            block = block[(end + 2)..];
        }
    }
}
