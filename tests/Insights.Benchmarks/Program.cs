using Insights.Benchmarks;

var scenarios = new Dictionary<string, Func<string[], Task<int>>>(StringComparer.OrdinalIgnoreCase)
{
    ["tenants"] = TenantsScenario.RunAsync,
    ["queue"] = QueueScenario.RunAsync,
    ["ingest"] = IngestScenario.RunAsync,
    ["online"] = OnlineScenario.RunAsync,
    ["fleet"] = FleetScenario.RunAsync,
    ["sweep"] = SweepScenario.RunAsync,
    ["health"] = HealthScenario.RunAsync,
    ["move"] = MoveScenario.RunAsync,
};

if (args.Length == 0 || !scenarios.TryGetValue(args[0], out var scenario))
{
    Console.Error.WriteLine($"usage: dotnet run -c Release --project tests/Insights.Benchmarks -- <{string.Join("|", scenarios.Keys)}> [options]");
    return 2;
}

return await scenario(args[1..]);
