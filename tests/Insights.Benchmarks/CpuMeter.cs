using System.Globalization;

namespace Insights.Benchmarks;

/// <summary>
/// Processor time spent by the processes of a run, read from <c>/proc</c>: this benchmark, the hosts it started,
/// PostgreSQL and RabbitMQ. On a machine of few cores it tells where the cores went, which the rates alone do not.
/// </summary>
internal sealed class CpuMeter
{
    private const double TicksPerSecond = 100; // USER_HZ, 100 on every Linux this runs on.
    private const string Busy = "busy";
    private const string Steal = "steal";

    private readonly IReadOnlyCollection<int> hostIds;
    private readonly Dictionary<string, double> start;
    private readonly DateTime startedAt = DateTime.UtcNow;

    private CpuMeter(IReadOnlyCollection<int> hostIds)
    {
        this.hostIds = hostIds;
        start = Sample(hostIds);
    }

    public static CpuMeter Start(params int[] hostIds) => new(hostIds);

    /// <summary>Seconds of processor time per group since the start, e.g. "host 12.1 s, postgres 20.3 s".</summary>
    public string Report(long units = 0, string unit = "msg")
    {
        var end = Sample(hostIds);
        var wall = (DateTime.UtcNow - startedAt).TotalSeconds;
        var parts = end.Select(e => (e.Key, Seconds: e.Value - start.GetValueOrDefault(e.Key))).Where(p => p.Seconds > 0.05).ToList();
        // Busy time of the machine that none of the groups above spent, and time the hypervisor gave to other guests:
        // either makes a run slower without any of its processes doing more.
        var busy = end.GetValueOrDefault(Busy) - start.GetValueOrDefault(Busy);
        var others = busy - parts.Where(p => p.Key is not (Busy or Steal or "host jit")).Sum(p => p.Seconds);
        parts.RemoveAll(p => p.Key == Busy);
        if (others > 0.05)
        {
            parts.Add(("others", others));
        }

        var text = string.Join(", ", parts.Select(p => string.Create(CultureInfo.InvariantCulture,
            $"{p.Key} {p.Seconds:F1} s{(units > 0 ? $" ({p.Seconds * 1e6 / units:F0} µs/{unit})" : "")}")));
        return string.Create(CultureInfo.InvariantCulture, $"cpu over {wall:F1} s x {Environment.ProcessorCount} cores: {text}");
    }

    /// <summary>
    /// The share of the machine's processor time the hypervisor gave to other guests since the start (0–1): a run that
    /// lost much of it measured the neighbours as much as itself.
    /// </summary>
    public double StealShare()
    {
        var wall = (DateTime.UtcNow - startedAt).TotalSeconds;
        return wall <= 0 ? 0 : (MachineTicks().Steal - start.GetValueOrDefault(Steal)) / (wall * Environment.ProcessorCount);
    }

    private static (double Busy, double Steal) MachineTicks()
    {
        // cpu user nice system idle iowait irq softirq steal ...
        var machine = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        double Ticks(int index) => double.Parse(machine[index], CultureInfo.InvariantCulture) / TicksPerSecond;
        return (Ticks(1) + Ticks(2) + Ticks(3) + Ticks(6) + Ticks(7), Ticks(8));
    }

    /// <summary>
    /// Waits (at most <paramref name="limit"/>) until the hosts' tiered compilation threads have been idle for a second:
    /// after a warm-up they may still be optimising what it ran, which is start-up work, not the phase's.
    /// </summary>
    public static async Task WaitForQuietJitAsync(int[] hostIds, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        var last = Sample(hostIds).GetValueOrDefault("host jit");
        while (DateTime.UtcNow < deadline)
        {
            await Task.Delay(1000);
            var now = Sample(hostIds).GetValueOrDefault("host jit");
            if (now - last < 0.02)
            {
                return;
            }

            last = now;
        }
    }

    private static Dictionary<string, double> Sample(IReadOnlyCollection<int> hostIds)
    {
        var totals = new Dictionary<string, double>();
        if (!Directory.Exists("/proc"))
        {
            return totals;
        }

        (totals[Busy], totals[Steal]) = MachineTicks();

        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), CultureInfo.InvariantCulture, out var pid) || Read(directory) is not { } process)
            {
                continue;
            }

            var group = pid == Environment.ProcessId ? "bench"
                : hostIds.Contains(pid) ? "host"
                : process.Command == "postgres" ? "postgres"
                : process.Command is "beam.smp" or "erl_child_setup" or "inet_gethost" ? "rabbitmq"
                : null;
            if (group is null)
            {
                continue;
            }

            // The server processes count their ended children too (PostgreSQL backends come and go with the pools).
            var seconds = group is "postgres" or "rabbitmq" ? process.Seconds + process.ChildSeconds : process.Seconds;
            totals[group] = totals.GetValueOrDefault(group) + seconds;
            if (group == "host")
            {
                // The runtime's tiered compilation thread: code still being optimised, not the work itself.
                var tasks = Path.Combine(directory, "task");
                var jit = Directory.Exists(tasks)
                    ? Directory.EnumerateDirectories(tasks).Select(Read)
                        .Where(t => t is not null && t.Command.StartsWith(".NET Tiered", StringComparison.Ordinal)).Sum(t => t!.Seconds)
                    : 0;
                totals["host jit"] = totals.GetValueOrDefault("host jit") + jit;
            }
        }

        return totals;
    }

    private sealed record ProcessTimes(string Command, double Seconds, double ChildSeconds);

    /// <summary>Command and processor times of a process or thread directory; null if it ended meanwhile.</summary>
    private static ProcessTimes? Read(string directory)
    {
        string stat;
        try
        {
            stat = File.ReadAllText(Path.Combine(directory, "stat"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // pid (comm) state ppid ... utime stime cutime cstime: comm may hold spaces, so fields count from the last ')'.
        var open = stat.IndexOf('(', StringComparison.Ordinal);
        var close = stat.LastIndexOf(')');
        if (open < 0 || close < open)
        {
            return null;
        }

        var fields = stat[(close + 2)..].Split(' ');
        double Field(int index) => double.Parse(fields[index], CultureInfo.InvariantCulture) / TicksPerSecond;
        return new ProcessTimes(stat[(open + 1)..close], Field(11) + Field(12), Field(13) + Field(14));
    }
}
