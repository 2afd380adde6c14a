using System.Text.RegularExpressions;

namespace Insights.Database;

/// <summary>
/// The PostgreSQL databases that hold tenant schemas (stores). <c>main</c> is the catalog's own database
/// (<c>ConnectionStrings:Insights</c>); more are named in the section <c>Stores</c>, name → connection string
/// (<c>Stores:store2</c>, or <c>Stores__store2</c> in the environment). Every node names the same stores.
/// </summary>
public static partial class TenantStoreSettings
{
    public const string Section = "Stores";

    /// <summary>The store in the catalog's database.</summary>
    public const string Main = "main";

    /// <summary>Store names: 1–32 lower-case letters, digits and <c>-</c>, starting with a letter.</summary>
    public static bool IsValidName(string? name) => name is not null && NamePattern().IsMatch(name);

    /// <summary>Every store, <c>main</c> first, with its connection string; or the settings' first fault.</summary>
    public static (IReadOnlyDictionary<string, string> Stores, string? Failure) Read(IConfiguration configuration)
    {
        var stores = new Dictionary<string, string>(StringComparer.Ordinal);
        if (configuration.GetConnectionString(DatabaseOptions.ConnectionStringName) is { Length: > 0 } main)
        {
            stores[Main] = main;
        }

        foreach (var entry in configuration.GetSection(Section).GetChildren().OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            var setting = $"{Section}:{entry.Key}";
            if (!IsValidName(entry.Key) || entry.Key == Main)
            {
                return (stores, $"Setting '{setting}': a store's name is 1–32 characters of a-z, 0-9 and '-', starting with a letter, and not '{Main}' (the catalog's own database).");
            }

            if (string.IsNullOrWhiteSpace(entry.Value))
            {
                return (stores, $"Setting '{setting}' must be the store's PostgreSQL connection string.");
            }

            try
            {
                if (string.IsNullOrWhiteSpace(new NpgsqlConnectionStringBuilder(entry.Value).Host))
                {
                    return (stores, $"Setting '{setting}' names no Host.");
                }
            }
            catch (ArgumentException e)
            {
                return (stores, $"Setting '{setting}' is not a valid PostgreSQL connection string: {e.Message}");
            }

            stores[entry.Key] = entry.Value;
        }

        return (stores, null);
    }

    [GeneratedRegex(@"\A[a-z][a-z0-9-]{0,31}\z")]
    private static partial Regex NamePattern();
}
