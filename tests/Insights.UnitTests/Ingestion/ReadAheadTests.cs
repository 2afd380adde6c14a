using System.Runtime.CompilerServices;
using Insights.Ingestion;

namespace Insights.UnitTests.Ingestion;

public sealed class ReadAheadTests
{
    [Fact]
    public async Task Yields_every_item_in_order()
    {
        var items = new List<int>();
        await foreach (var item in ReadAhead.Buffered(Count(50), 1, CancellationToken.None))
        {
            items.Add(item);
        }

        Assert.Equal(Enumerable.Range(0, 50), items);
    }

    [Fact]
    public async Task Reads_at_most_depth_items_ahead_of_the_caller()
    {
        var produced = 0;
        await using var items = ReadAhead.Buffered(Count(10, () => Interlocked.Increment(ref produced)), 2, CancellationToken.None)
            .GetAsyncEnumerator();
        Assert.True(await items.MoveNextAsync());
        await Task.Delay(100);

        // One handed out, two waiting in the buffer, and one more read that waits for room.
        Assert.InRange(Volatile.Read(ref produced), 2, 4);
    }

    [Fact]
    public async Task A_failure_of_the_source_surfaces_after_the_items_before_it()
    {
        var items = new List<int>();
        var failure = await Assert.ThrowsAsync<InvalidDataException>(async () =>
        {
            await foreach (var item in ReadAhead.Buffered(Failing(3), 1, CancellationToken.None))
            {
                items.Add(item);
            }
        });

        Assert.Equal([0, 1, 2], items);
        Assert.Equal("line 4 is not JSON", failure.Message);
    }

    [Fact]
    public async Task Leaving_early_stops_the_source()
    {
        var stopped = new TaskCompletionSource();
        await foreach (var item in ReadAhead.Buffered(Endless(stopped), 1, CancellationToken.None))
        {
            if (item == 3)
            {
                break;
            }
        }

        await stopped.Task.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Cancellation_ends_the_reading()
    {
        using var cancel = new CancellationTokenSource();
        var stopped = new TaskCompletionSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var item in ReadAhead.Buffered(Endless(stopped), 1, cancel.Token))
            {
                if (item == 2)
                {
                    await cancel.CancelAsync();
                }
            }
        });

        await stopped.Task.WaitAsync(TimeSpan.FromSeconds(5));
    }

    private static async IAsyncEnumerable<int> Count(int count, Action? onEach = null)
    {
        for (var i = 0; i < count; i++)
        {
            await Task.Yield();
            onEach?.Invoke();
            yield return i;
        }
    }

    private static async IAsyncEnumerable<int> Failing(int good)
    {
        for (var i = 0; i < good; i++)
        {
            await Task.Yield();
            yield return i;
        }

        throw new InvalidDataException($"line {good + 1} is not JSON");
    }

    private static async IAsyncEnumerable<int> Endless(TaskCompletionSource stopped, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        try
        {
            for (var i = 0; ; i++)
            {
                await Task.Delay(1, cancellationToken);
                yield return i;
            }
        }
        finally
        {
            stopped.TrySetResult();
        }
    }
}
