using System.Diagnostics;
using System.Globalization;

namespace Insights.Benchmarks;

/// <summary>Percentiles of a set of latencies, in milliseconds.</summary>
internal sealed record Summary(int Count, double P50, double P99, double Max)
{
    public static Summary Of(IEnumerable<double> samples)
    {
        var sorted = samples.Order().ToArray();
        return sorted.Length == 0
            ? new Summary(0, double.NaN, double.NaN, double.NaN)
            : new Summary(sorted.Length, Percentile(sorted, 50), Percentile(sorted, 99), sorted[^1]);
    }

    /// <summary>Nearest-rank percentile of sorted samples.</summary>
    public static double Percentile(double[] sorted, double percent)
    {
        var rank = (int)Math.Ceiling(percent / 100 * sorted.Length);
        return sorted[Math.Clamp(rank, 1, sorted.Length) - 1];
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"p50 {P50,7:F1}  p99 {P99,7:F1} ms");
}

internal static class Timing
{
    /// <summary>Runs <paramref name="action"/> and returns how long it took, in milliseconds.</summary>
    public static async Task<double> MeasureAsync(Func<Task> action)
    {
        var start = Stopwatch.GetTimestamp();
        await action();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }
}
