using System.Security.Claims;
using Insights.Tenancy;

namespace Insights.Hosting;

/// <summary>
/// Verbs of the host besides serving: <c>dev-token</c> mints a development token; <c>migrate --tenants</c>
/// applies pending tenant migrations to every tenant with a progress bar.
/// </summary>
public static class InsightsCli
{
    public static async Task<bool> TryRunAsync(string[] args)
    {
        if (args.Length == 0)
        {
            return false;
        }

        switch (args[0])
        {
            case "dev-token":
                Environment.ExitCode = DevToken(args[1..]);
                return true;
            case "migrate":
                Environment.ExitCode = await TenantMigrationCli.RunAsync(args[1..]);
                return true;
            case "--help" or "-h" or "help":
                Console.WriteLine("""
                    Insights.Api                      serve (roles from the 'Roles' setting)
                    Insights.Api dev-token --admin    print a development admin token
                    Insights.Api dev-token --role admin|operator|viewer [--minutes N]
                                                      print a development token of a person with that role
                    Insights.Api dev-token --tenant <id> [--minutes N]
                                                      print a development token of one tenant's client
                    Insights.Api migrate --tenants    apply pending tenant migrations to every tenant
                    """);
                return true;
            default:
                return false;
        }
    }

    private static int DevToken(string[] args)
    {
        var roleIndex = Array.IndexOf(args, "--role");
        var roleName = args.Contains("--admin") ? "admin" : roleIndex >= 0 && roleIndex + 1 < args.Length ? args[roleIndex + 1] : null;
        PersonRole? role = roleName switch
        {
            null => null,
            "admin" => PersonRole.Admin,
            "operator" => PersonRole.Operator,
            "viewer" => PersonRole.Viewer,
            _ => (PersonRole)0,
        };
        var tenantIndex = Array.IndexOf(args, "--tenant");
        var tenant = tenantIndex >= 0 && tenantIndex + 1 < args.Length ? args[tenantIndex + 1] : null;
        var minutesIndex = Array.IndexOf(args, "--minutes");
        var minutes = 480;
        if (minutesIndex >= 0 && (minutesIndex + 1 >= args.Length || !int.TryParse(args[minutesIndex + 1], out minutes) || minutes is < 1 or > 10080))
        {
            Console.Error.WriteLine("--minutes takes a whole number from 1 to 10080.");
            return 2;
        }

        if ((role is not null) == (tenant is not null) || role == 0)
        {
            Console.Error.WriteLine("usage: dev-token --admin | --role admin|operator|viewer | --tenant <id> [--minutes N]");
            return 2;
        }

        if (tenant is not null && !TenantId.IsValid(tenant))
        {
            Console.Error.WriteLine($"A tenant id is {TenantId.Rule}.");
            return 2;
        }

        var settings = HostSettings().GetSection(FluigIdentityOptions.Section).Get<FluigIdentityOptions>() ?? new FluigIdentityOptions();
        var key = DevelopmentKey.LoadOrCreate(DevelopmentKey.ResolvePath(settings.DevelopmentKeyPath));

        List<Claim> claims = role switch
        {
            PersonRole.Admin => [new("sub", "dev-admin"), new("name", "Development admin"), new(settings.RoleClaim, settings.AdminRole)],
            PersonRole.Operator => [new("sub", "dev-operator"), new("name", "Development operator"), new(settings.RoleClaim, settings.OperatorRole)],
            PersonRole.Viewer => [new("sub", "dev-viewer"), new("name", "Development viewer"), new(settings.RoleClaim, settings.ViewerRole)],
            _ => [new("sub", "dev-client-" + tenant), new(settings.TenantClaim, tenant!)],
        };
        Console.WriteLine(DevelopmentKey.Mint(key, settings, claims, TimeSpan.FromMinutes(minutes)));
        Console.Error.WriteLine(
            $"Valid {minutes} minutes, only on a host running in Development. In Swagger: Authorize, paste the token.");
        return 0;
    }

    /// <summary>
    /// The settings a host started from the current directory would read, in the same order (its JSON files, user
    /// secrets in Development, environment variables), without building a web host: the slow part of the verb.
    /// </summary>
    private static IConfiguration HostSettings()
    {
        var environment = Environment.GetEnvironmentVariable("ASPNETCORE_ENVIRONMENT")
            ?? Environment.GetEnvironmentVariable("DOTNET_ENVIRONMENT")
            ?? Environments.Production;
        var contentRoot = Directory.GetCurrentDirectory();
        var configuration = new ConfigurationBuilder()
            .SetBasePath(contentRoot)
            .AddJsonFile("appsettings.json", optional: true)
            .AddJsonFile($"appsettings.{environment}.json", optional: true);
        configuration.AddShippedSettings(contentRoot);
        if (string.Equals(environment, Environments.Development, StringComparison.OrdinalIgnoreCase))
        {
            configuration.AddUserSecrets(typeof(InsightsCli).Assembly, optional: true);
        }

        return configuration.AddEnvironmentVariables().Build();
    }
}
