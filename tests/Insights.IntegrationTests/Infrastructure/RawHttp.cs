using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Insights.IntegrationTests.Infrastructure;

/// <summary>
/// HTTP/1.1 over a bare socket, for requests no HTTP client would send (oversized lines and headers, raw control
/// bytes, unfinished headers). Responses are read until the server closes the connection.
/// </summary>
public static class RawHttp
{
    /// <summary>Generous: the server answers long before; a hung server fails the test instead of hanging it.</summary>
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    /// <summary>Sends the bytes and returns the one response the server answers before it closes the connection.</summary>
    public static async Task<RawResponse> SendAsync(Uri server, string request)
    {
        var responses = await SendAllAsync(server, request);
        Assert.True(responses.Count == 1, $"Expected one response, got {responses.Count}");
        return responses[0];
    }

    /// <summary>
    /// Sends <paramref name="head"/> (a request line and headers, ending in a blank line) and then a chunked body of
    /// <paramref name="prefix"/>, <paramref name="fillBytes"/> bytes of <paramref name="fill"/> and <paramref name="suffix"/>,
    /// reading meanwhile: a server that answers early and closes ends the sending, and its one answer is returned.
    /// </summary>
    public static async Task<RawResponse> SendChunkedAsync(Uri server, string head, string prefix, long fillBytes, char fill, string suffix)
    {
        using var timeout = new CancellationTokenSource(Deadline);
        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.Port, timeout.Token);
        var stream = client.GetStream();
        var reading = ReadUntilClosedAsync(stream, timeout.Token);
        try
        {
            await stream.WriteAsync(Encoding.Latin1.GetBytes(head), timeout.Token);
            await WriteChunkAsync(stream, Encoding.UTF8.GetBytes(prefix), timeout.Token);
            var block = Encoding.ASCII.GetBytes(new string(fill, 64 * 1024));
            for (var left = fillBytes; left > 0 && !reading.IsCompleted; left -= block.Length)
            {
                await WriteChunkAsync(stream, block.AsMemory(0, (int)Math.Min(left, block.Length)), timeout.Token);
            }

            await WriteChunkAsync(stream, Encoding.UTF8.GetBytes(suffix), timeout.Token);
            await stream.WriteAsync("0\r\n\r\n"u8.ToArray(), timeout.Token);
        }
        catch (IOException)
        {
            // The server answered and closed before the body was all sent; its answer is what the test reads.
        }

        var responses = RawResponse.ParseAll(await reading);
        Assert.True(responses.Count == 1, $"Expected one response, got {responses.Count}");
        return responses[0];
    }

    private static async Task WriteChunkAsync(Stream stream, ReadOnlyMemory<byte> chunk, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(Encoding.ASCII.GetBytes(chunk.Length.ToString("x", CultureInfo.InvariantCulture) + "\r\n"), cancellationToken);
        await stream.WriteAsync(chunk, cancellationToken);
        await stream.WriteAsync("\r\n"u8.ToArray(), cancellationToken);
    }

    /// <summary>Sends the bytes (one or more requests) and returns every response, in order, until the server closes.</summary>
    public static async Task<IReadOnlyList<RawResponse>> SendAllAsync(Uri server, string requests)
    {
        using var timeout = new CancellationTokenSource(Deadline);
        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.Port, timeout.Token);
        var stream = client.GetStream();
        try
        {
            await stream.WriteAsync(Encoding.Latin1.GetBytes(requests), timeout.Token);
        }
        catch (IOException)
        {
            // The server may answer and close before it has read all of an oversized request; its answer is still there.
        }

        return RawResponse.ParseAll(await ReadUntilClosedAsync(stream, timeout.Token));
    }

    private static async Task<byte[]> ReadUntilClosedAsync(Stream stream, CancellationToken cancellationToken)
    {
        var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
            {
                received.Write(buffer, 0, read);
            }
        }
        catch (IOException) when (received.Length > 0)
        {
            // A reset after the answer (the server closed with part of the request unread) ends the reading too.
        }

        return received.ToArray();
    }
}

/// <summary>One response as it came over the wire; parsing checks its framing (a length that matches the body).</summary>
public sealed record RawResponse(int Status, IReadOnlyDictionary<string, string> Headers, string Body)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;

    public static IReadOnlyList<RawResponse> ParseAll(ReadOnlySpan<byte> bytes)
    {
        var responses = new List<RawResponse>();
        while (!bytes.IsEmpty)
        {
            responses.Add(Parse(ref bytes));
        }

        return responses;
    }

    private static RawResponse Parse(ref ReadOnlySpan<byte> bytes)
    {
        var end = bytes.IndexOf("\r\n\r\n"u8);
        Assert.True(end > 0, $"No complete response head in: {Encoding.Latin1.GetString(bytes)}");
        var lines = Encoding.Latin1.GetString(bytes[..end]).Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], CultureInfo.InvariantCulture);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            Assert.True(headers.TryAdd(line[..colon], line[(colon + 1)..].Trim()), $"Header {line[..colon]} appears twice");
        }

        bytes = bytes[(end + 4)..];
        byte[] body;
        if (headers.TryGetValue("Transfer-Encoding", out var coding) && coding.Equals("chunked", StringComparison.OrdinalIgnoreCase))
        {
            body = Dechunk(ref bytes);
        }
        else
        {
            Assert.True(headers.TryGetValue("Content-Length", out var declared), "The response has neither Content-Length nor chunked encoding");
            var length = int.Parse(declared, CultureInfo.InvariantCulture);
            Assert.True(length <= bytes.Length, $"Content-Length {length} but only {bytes.Length} bytes followed");
            body = bytes[..length].ToArray();
            bytes = bytes[length..];
        }

        return new RawResponse(status, headers, Encoding.UTF8.GetString(body));
    }

    private static byte[] Dechunk(ref ReadOnlySpan<byte> bytes)
    {
        var body = new MemoryStream();
        while (true)
        {
            var lineEnd = bytes.IndexOf("\r\n"u8);
            Assert.True(lineEnd > 0, "Truncated chunked body");
            var size = int.Parse(Encoding.ASCII.GetString(bytes[..lineEnd]), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            bytes = bytes[(lineEnd + 2)..];
            if (size == 0)
            {
                Assert.True(bytes.StartsWith("\r\n"u8), "No blank line after the last chunk");
                bytes = bytes[2..];
                return body.ToArray();
            }

            body.Write(bytes[..size]);
            bytes = bytes[(size + 2)..];
        }
    }
}
