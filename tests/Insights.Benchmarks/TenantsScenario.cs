namespace Insights.Benchmarks;

internal static class TenantsScenario
{
    public static Task<int> RunAsync(string[] args)
    {
        _ = args;
        Console.Error.WriteLine("tenants: not measured yet");
        return Task.FromResult(1);
    }
}
