using System.Text.RegularExpressions;
using ArchUnitNET.Domain;
using ArchUnitNET.Loader;
using ArchUnitNET.xUnit;
using static ArchUnitNET.Fluent.ArchRuleDefinition;
using static ArchUnitNET.Fluent.Slices.SliceRuleDefinition;

namespace Insights.UnitTests.Architecture;

/// <summary>
/// The walls between capabilities: databases are reached only through the seams of <c>Insights.Database</c>, capability
/// namespaces depend on each other without a circle, and a table is named only by the capability that owns it
/// (<c>docs/architecture.md</c>, "Data ownership").
/// </summary>
public sealed partial class ArchitectureTests
{
    private static readonly ArchUnitNET.Domain.Architecture Service =
        new ArchLoader().LoadAssemblies(typeof(Program).Assembly).Build();

    [Fact]
    public void Only_the_database_seams_hold_a_data_source() =>
        Types().That().DoNotResideInNamespace("Insights.Database")
            .Should().NotDependOnAny(typeof(Npgsql.NpgsqlDataSource))
            .Because("a database is reached through its typed seam (CatalogDatabase, StoreDatabase, TenantDatabase)")
            .Check(Service);

    [Fact]
    public void Capabilities_do_not_depend_on_each_other_in_a_circle() =>
        Slices().Matching("Insights.(*)").Should().BeFreeOfCycles().Check(Service);

    [Fact]
    public void A_table_is_named_only_by_its_owner()
    {
        var unexpected = TableNamings().Order().ToList();
        Assert.True(unexpected.Count == 0,
            "Named outside the owner's folder (call the owner instead; the owners are in docs/architecture.md):\n" + string.Join("\n", unexpected));
    }

    [Fact]
    public void The_ownership_map_names_an_owner_folder_for_every_table()
    {
        var owners = Ownership();
        Assert.NotEmpty(owners);
        Assert.All(owners, o => Assert.Matches("^[A-Z][A-Za-z]+$", o.Owner));
        Assert.Contains(owners, o => o.Table == "<tenant>.queue_messages" && o.Owner == "SmartLink");
    }

    /// <summary>Every "file → table" where a file outside the owner's folder names the table (comments aside).</summary>
    internal static HashSet<string> TableNamings(string? sourceRoot = null)
    {
        var root = sourceRoot ?? Path.Combine(RepositoryRoot(), "src", "Insights.Api");
        var patterns = Ownership().Select(o => (o.Table, o.Owner, Pattern: NamingPattern(o.Table))).ToList();
        var found = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, file).Replace('\\', '/');
            if (relative.StartsWith("bin/", StringComparison.Ordinal) || relative.StartsWith("obj/", StringComparison.Ordinal))
            {
                continue;
            }

            var code = CommentLine().Replace(File.ReadAllText(file), "");
            foreach (var (table, owner, pattern) in patterns)
            {
                if (!relative.StartsWith(owner + "/", StringComparison.Ordinal) && pattern.IsMatch(code))
                {
                    found.Add($"{relative} → {table}");
                }
            }
        }

        return found;
    }

    /// <summary>How code names a table: <c>catalog.x</c> / <c>insights_store.x</c> in SQL, <c>[Table("x", …)]</c> in the catalog's EF model, a tenant table by its name.</summary>
    private static Regex NamingPattern(string table)
    {
        var (schema, name) = (table[..table.IndexOf('.')], Regex.Escape(table[(table.IndexOf('.') + 1)..]));
        return new Regex(schema switch
        {
            "<tenant>" => $@"\b{name}\b",
            "catalog" => $@"\bcatalog\.{name}\b|Table\(""{name}""",
            _ => $@"\b{Regex.Escape(schema)}\.{name}\b",
        });
    }

    internal static List<(string Table, string Owner)> Ownership()
    {
        var text = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "architecture.md"));
        var section = text[text.IndexOf("## Data ownership", StringComparison.Ordinal)..];
        return [.. OwnershipRow().Matches(section).Select(m => (m.Groups[1].Value, m.Groups[2].Value))];
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Insights.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Insights.sln not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"^\| `([^`]+\.[a-z_]+)` \| `([A-Za-z]+)` \|", RegexOptions.Multiline)]
    private static partial Regex OwnershipRow();

    [GeneratedRegex(@"//[^\n]*")]
    private static partial Regex CommentLine();
}
