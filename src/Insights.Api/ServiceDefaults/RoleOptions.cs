namespace Insights.ServiceDefaults;

/// <summary>What this process runs (setting <c>Roles</c>: a comma list of api, worker, scheduler).</summary>
public sealed class RoleOptions
{
    public const string SettingName = "Roles";
    public static readonly string[] Known = ["api", "worker", "scheduler"];

    public bool Api { get; init; } = true;
    public bool Worker { get; init; } = true;
    public bool Scheduler { get; init; } = true;

    public static RoleOptions Parse(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return new RoleOptions();
        }

        var roles = value.Split([',', ';', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(r => r.ToLowerInvariant())
            .ToArray();
        var unknown = roles.Where(r => !Known.Contains(r)).ToArray();
        if (unknown.Length > 0)
        {
            throw new InvalidOperationException(
                $"Setting '{SettingName}' has unknown role(s) '{string.Join("', '", unknown)}'; use a comma list of: {string.Join(", ", Known)}.");
        }

        return new RoleOptions
        {
            Api = roles.Contains("api"),
            Worker = roles.Contains("worker"),
            Scheduler = roles.Contains("scheduler"),
        };
    }

    public override string ToString() =>
        string.Join(",", new[] { Api ? "api" : null, Worker ? "worker" : null, Scheduler ? "scheduler" : null }.OfType<string>());
}
