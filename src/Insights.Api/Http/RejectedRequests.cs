using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using ListenOptions = Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions;

namespace Insights.Http;

/// <summary>
/// Gives a problem details body to the error responses Kestrel writes itself, before any middleware runs: a request
/// line or headers over the limits (414, 431), malformed bytes (400), headers that do not arrive in time (408).
/// </summary>
/// <remarks>
/// Kestrel offers no hook for the body of these responses: it writes the status line and headers with
/// <c>Content-Length: 0</c> and <c>Connection: close</c>, then closes the connection. It does raise its documented
/// <c>BadRequest</c> diagnostic event just before writing, with the request's features, which fall back to the
/// connection's. So each connection's output goes through a <see cref="RejectionAwareOutput"/> that forwards every call
/// untouched; only after that event does it hold back the next few bytes written and, when they are exactly such a
/// bodyless error, write them again with the problem as their body.
/// </remarks>
internal sealed class RejectedRequests : IObserver<KeyValuePair<string, object?>>, IDisposable
{
    private const string BadRequestEvent = "Microsoft.AspNetCore.Server.Kestrel.BadRequest";

    private readonly IServiceProvider services;
    private readonly IProblemDetailsService problems;
    private readonly IOptions<HttpOptions> options;
    private readonly IDisposable subscription;

    public RejectedRequests(IServiceProvider services, DiagnosticListener diagnostics, IProblemDetailsService problems, IOptions<HttpOptions> options)
    {
        this.services = services;
        this.problems = problems;
        this.options = options;
        subscription = diagnostics.Subscribe(this, name => name == BadRequestEvent);
    }

    /// <summary>Puts the rejection-aware output under every connection of the endpoint.</summary>
    public static void Attach(ListenOptions listen) => listen.Use(next =>
    {
        var rejections = listen.ApplicationServices.GetRequiredService<RejectedRequests>();
        return async connection =>
        {
            var transport = connection.Transport;
            var output = new RejectionAwareOutput(transport.Output, rejections);
            connection.Transport = new DuplexPipe(transport.Input, output);
            connection.Features.Set(output);
            try
            {
                await next(connection);
            }
            finally
            {
                connection.Transport = transport;
            }
        };
    });

    public void OnNext(KeyValuePair<string, object?> value)
    {
        if (value.Key != BadRequestEvent || value.Value is not IFeatureCollection features || features.Get<RejectionAwareOutput>() is not { } output)
        {
            return;
        }

        // A response to HEAD carries no body, so Kestrel's answer stays as it is. HTTP/2 and HTTP/3 reset the stream
        // instead of answering, and their frames are never rewritten.
        var request = features.Get<IHttpRequestFeature>();
        if (HttpMethods.IsHead(request?.Method ?? "") || HttpProtocol.IsHttp2(request?.Protocol ?? "") || HttpProtocol.IsHttp3(request?.Protocol ?? ""))
        {
            return;
        }

        var status = (features.Get<IBadRequestExceptionFeature>()?.Error as BadHttpRequestException)?.StatusCode ?? StatusCodes.Status400BadRequest;
        output.Expect(new Rejection(status, features.Get<IHttpRequestIdentifierFeature>()?.TraceIdentifier ?? ""));
    }

    public void OnCompleted()
    {
    }

    public void OnError(Exception error)
    {
    }

    public void Dispose() => subscription.Dispose();

    /// <summary>The problem body and its media type, worded and shaped by the same service as every other error.</summary>
    internal async Task<Problem?> ProblemAsync(Rejection rejection)
    {
        using var body = new MemoryStream();
        var context = new DefaultHttpContext { RequestServices = services, TraceIdentifier = rejection.TraceId };
        context.Response.StatusCode = rejection.Status;
        context.Response.Body = body;
        var written = await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails { Status = rejection.Status, Detail = Describe(rejection.Status) },
        });
        return written && context.Response.ContentType is { Length: > 0 } contentType ? new Problem(body.ToArray(), contentType) : null;
    }

    private string Describe(int status)
    {
        var limits = options.Value;
        return status switch
        {
            StatusCodes.Status400BadRequest => "The request could not be read: its request line or headers are malformed.",
            StatusCodes.Status408RequestTimeout => "The request headers did not arrive in time.",
            StatusCodes.Status414UriTooLong =>
                $"The request line (method, path and query string) is longer than the limit of {limits.MaxRequestLineBytes} bytes.",
            StatusCodes.Status431RequestHeaderFieldsTooLarge =>
                $"The request headers exceed the limits of {limits.MaxRequestHeadersBytes} bytes in all and {limits.MaxRequestHeaderCount} headers.",
            _ => Problems.DefaultDetail(status),
        };
    }

    internal sealed record Problem(byte[] Body, string ContentType);

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input => input;
        public PipeWriter Output => output;
    }
}

internal sealed record Rejection(int Status, string TraceId);

/// <summary>
/// A connection's output: a plain pass-through, except for the response that follows a rejection, which it holds
/// back (up to a few kilobytes) until it is flushed, and rewrites when it is Kestrel's bodyless error.
/// </summary>
internal sealed class RejectionAwareOutput(PipeWriter inner, RejectedRequests rejections) : PipeWriter
{
    // Kestrel's error responses are a status line and three or four short headers; anything longer is not one.
    private const int HoldLimit = 2048;

    private Rejection? expected;
    private byte[]? held;
    private int heldLength;
    private bool lastMemoryHeld;

    public void Expect(Rejection rejection) => expected = rejection;

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        if (expected is null)
        {
            lastMemoryHeld = false;
            return inner.GetMemory(sizeHint);
        }

        held ??= ArrayPool<byte>.Shared.Rent(HoldLimit);
        if (heldLength + Math.Max(sizeHint, 1) > HoldLimit)
        {
            Release();
            lastMemoryHeld = false;
            return inner.GetMemory(sizeHint);
        }

        lastMemoryHeld = true;
        return held.AsMemory(heldLength, HoldLimit - heldLength);
    }

    public override Span<byte> GetSpan(int sizeHint = 0)
    {
        if (expected is null)
        {
            lastMemoryHeld = false;
            return inner.GetSpan(sizeHint);
        }

        return GetMemory(sizeHint).Span;
    }

    public override void Advance(int bytes)
    {
        if (lastMemoryHeld)
        {
            heldLength += bytes;
        }
        else
        {
            inner.Advance(bytes);
        }
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) =>
        held is null ? inner.FlushAsync(cancellationToken) : FlushHeldAsync(cancellationToken);

    public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default) =>
        expected is null && held is null ? inner.WriteAsync(source, cancellationToken) : base.WriteAsync(source, cancellationToken);

    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

    public override long UnflushedBytes => inner.UnflushedBytes + heldLength;

    public override void Complete(Exception? exception = null)
    {
        Release();
        inner.Complete(exception);
    }

    public override async ValueTask CompleteAsync(Exception? exception = null)
    {
        Release();
        await inner.CompleteAsync(exception);
    }

    private async ValueTask<FlushResult> FlushHeldAsync(CancellationToken cancellationToken)
    {
        var rejection = expected!;
        var matched = BodylessError.Matches(held.AsSpan(0, heldLength), rejection.Status);
        if (matched && await rejections.ProblemAsync(rejection) is { } problem)
        {
            inner.Write(BodylessError.Rewrite(held.AsSpan(0, heldLength), problem.ContentType, problem.Body.Length));
            inner.Write(problem.Body);
            Return();
        }
        else
        {
            Release();
        }

        return await inner.FlushAsync(cancellationToken);
    }

    /// <summary>Passes what is held on unchanged and stops holding.</summary>
    private void Release()
    {
        if (held is not null && heldLength > 0)
        {
            inner.Write(held.AsSpan(0, heldLength));
        }

        Return();
    }

    private void Return()
    {
        expected = null;
        lastMemoryHeld = false;
        if (held is not null)
        {
            ArrayPool<byte>.Shared.Return(held);
            held = null;
        }

        heldLength = 0;
    }
}

/// <summary>Recognises and rewrites Kestrel's bodyless error response: an ASCII status line and headers, nothing after.</summary>
internal static class BodylessError
{
    /// <summary>Whether the bytes are exactly one response of this status with <c>Content-Length: 0</c> and no body.</summary>
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

    /// <summary>The same status line and headers, with the problem's media type and length instead of the zero length.</summary>
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
