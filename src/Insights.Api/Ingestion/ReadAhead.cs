using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;

namespace Insights.Ingestion;

/// <summary>
/// Reads the next pages of a source while the caller stores the current one, so the source's latency (a BigQuery
/// round trip, parsing a file) overlaps the database's work instead of adding to it.
/// </summary>
internal static class ReadAhead
{
    /// <summary>
    /// The items of <paramref name="source"/>, at most <paramref name="depth"/> read before they are asked for. A
    /// failure of the source surfaces where the caller would have met it; leaving early stops the source.
    /// </summary>
    public static async IAsyncEnumerable<T> Buffered<T>(
        IAsyncEnumerable<T> source, int depth, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var channel = Channel.CreateBounded<T>(new BoundedChannelOptions(depth) { SingleReader = true, SingleWriter = true });
        ExceptionDispatchInfo? failure = null;
        var producer = Task.Run(
            async () =>
            {
                try
                {
                    await foreach (var item in source.WithCancellation(stop.Token))
                    {
                        await channel.Writer.WriteAsync(item, stop.Token);
                    }
                }
                catch (Exception e)
                {
                    failure = ExceptionDispatchInfo.Capture(e);
                }
                finally
                {
                    channel.Writer.TryComplete();
                }
            },
            CancellationToken.None);

        try
        {
            while (await channel.Reader.WaitToReadAsync(cancellationToken))
            {
                while (channel.Reader.TryRead(out var item))
                {
                    yield return item;
                }
            }

            await producer;
            failure?.Throw();
        }
        finally
        {
            await stop.CancelAsync();
            await producer;
        }
    }
}
