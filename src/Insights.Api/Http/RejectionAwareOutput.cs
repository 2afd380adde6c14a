using System.Buffers;
using System.IO.Pipelines;

namespace Insights.Http;

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
