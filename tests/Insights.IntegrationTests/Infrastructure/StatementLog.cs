using System.Collections.Concurrent;
using System.Diagnostics;
using Insights.Database;

namespace Insights.IntegrationTests.Infrastructure;

/// <summary>
/// The statements Npgsql runs in this process while the log listens, each with the pool (data source) it ran on, as
/// Npgsql's own tracing reports them. Tests run in parallel: look only at statements that name a schema of the test's own.
/// </summary>
public sealed class StatementLog : IDisposable
{
    private readonly ConcurrentQueue<(string Text, string? DataSource)> statements = new();
    private readonly ActivityListener listener;

    public StatementLog()
    {
        listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Npgsql",
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = activity =>
            {
                if (activity.GetTagItem("db.query.text") is string text)
                {
                    statements.Enqueue((text, activity.GetTagItem("db.npgsql.data_source") as string));
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
    }

    /// <summary>The statements that named <paramref name="schema"/>.</summary>
    public List<(string Text, string? DataSource)> Naming(SchemaName schema) =>
        [.. statements.Where(s => s.Text.Contains(schema.Quoted, StringComparison.Ordinal))];

    public void Clear() => statements.Clear();

    public void Dispose() => listener.Dispose();
}
