using MassTransit;

namespace Insights.IntegrationTests.Infrastructure;

/// <summary>Counts the messages of one type a host consumed (those that <paramref name="counts"/> accepts), to wait for the n-th.</summary>
public sealed class ConsumedCount<T>(Func<T, bool>? counts = null) : IConsumeMessageObserver<T>
    where T : class
{
    private readonly Lock gate = new();
    private readonly List<(int Count, TaskCompletionSource Reached)> waiting = [];
    private int count;

    /// <summary>Completes once <paramref name="times"/> messages were consumed.</summary>
    public Task Times(int times)
    {
        lock (gate)
        {
            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (count >= times)
            {
                reached.SetResult();
            }
            else
            {
                waiting.Add((times, reached));
            }

            return reached.Task;
        }
    }

    public Task PreConsume(ConsumeContext<T> context) => Task.CompletedTask;

    public Task PostConsume(ConsumeContext<T> context)
    {
        if (counts is null || counts(context.Message))
        {
            lock (gate)
            {
                count++;
                foreach (var (_, reached) in waiting.Where(w => w.Count <= count))
                {
                    reached.TrySetResult();
                }
            }
        }

        return Task.CompletedTask;
    }

    public Task ConsumeFault(ConsumeContext<T> context, Exception exception) => Task.CompletedTask;
}
