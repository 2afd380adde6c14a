using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Insights.Http;
using Insights.Ingestion;

namespace Insights.IntegrationTests.Ingestion;

/// <summary>
/// A source whose rows the tests set per tenant, read with the real cursor semantics; a test can hold a run before a
/// given page to stop the worker mid-run.
/// </summary>
public sealed class ScriptedSource : IInsightSource
{
    private readonly ConcurrentDictionary<string, List<SourceModel>> rows = new(StringComparer.Ordinal);
    private int fleetReads;

    /// <summary>
    /// When set, a read waits here before yielding the page with this index (0-based); cancelled, it gives up 300 ms later.
    /// </summary>
    public (int Page, TaskCompletionSource Reached, Task Release)? Hold { get; set; }

    public void Set(string tenantId, IEnumerable<SourceModel> models) => rows[tenantId] = [.. models];

    public void Upsert(string tenantId, SourceModel model)
    {
        var list = rows.GetOrAdd(tenantId, _ => []);
        lock (list)
        {
            list.RemoveAll(m => m.Id == model.Id);
            list.Add(model);
        }
    }

    /// <summary>This source does not know when its rows arrived.</summary>
    public TimeSpan? ArrivalWindow => null;

    public IAsyncEnumerable<FleetPage> ReadFleetByArrivalAsync(DateTimeOffset since, int pageSize, CancellationToken cancellationToken) =>
        throw new NotSupportedException("The scripted source does not know when its rows arrived.");

    /// <summary>Every tenant's rows updated since, in one read (the sweep's reads are counted).</summary>
    public async IAsyncEnumerable<FleetPage> ReadFleetAsync(DateTimeOffset since, int pageSize, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref fleetReads);
        var snapshot = new List<FleetRow>();
        foreach (var (tenantId, list) in rows)
        {
            lock (list)
            {
                snapshot.AddRange(list.Where(m => m.UpdatedAt >= since).Select(m => new FleetRow(tenantId, m)));
            }
        }

        snapshot = [.. snapshot.OrderBy(r => r.Model.UpdatedAt).ThenBy(r => r.TenantId, StringComparer.Ordinal).ThenBy(r => r.Model.Id, StringComparer.Ordinal)];
        for (var start = 0; start < snapshot.Count; start += pageSize)
        {
            await Task.Yield();
            cancellationToken.ThrowIfCancellationRequested();
            yield return new FleetPage(snapshot.GetRange(start, Math.Min(pageSize, snapshot.Count - start)), 0, 0);
        }
    }

    /// <summary>How many fleet reads (sweeps) the source served.</summary>
    public int FleetReads => Volatile.Read(ref fleetReads);

    public async IAsyncEnumerable<SourcePage> ReadAsync(
        string tenantId, SourceCursor? after, int pageSize, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        List<SourceModel> snapshot;
        var list = rows.GetOrAdd(tenantId, _ => []);
        lock (list)
        {
            snapshot = [.. list
                .Where(m => after is null || m.UpdatedAt > after.UpdatedAt || (m.UpdatedAt == after.UpdatedAt && string.CompareOrdinal(m.Id, after.Id) > 0))
                .OrderBy(m => m.UpdatedAt).ThenBy(m => m.Id, StringComparer.Ordinal)];
        }

        for (var index = 0; index * pageSize < snapshot.Count; index++)
        {
            if (Hold is { } hold && hold.Page == index)
            {
                hold.Reached.TrySetResult();
                try
                {
                    await hold.Release.WaitAsync(cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    // A source gives up a cancelled call only after a while (a query being cancelled): the stopping
                    // host must wait for the run to end, not dispose what the run still needs.
                    await Task.Delay(300, CancellationToken.None);
                    throw;
                }
            }

            yield return new SourcePage(snapshot.Skip(index * pageSize).Take(pageSize).ToList(), 1_000_000, 10_485_760);
        }
    }

    public static SourceModel Model(string id, int minute, string insight = "CashFlowForecast", string payload = """{"value":1}""", bool deleted = false, long version = 1) =>
        new(id, insight, "SIGAFIN", "key-" + id, "filial=01", new DateOnly(2026, 11, 1), new DateOnly(2026, 11, 30), payload, version,
            new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero).AddMinutes(minute), deleted);
}
