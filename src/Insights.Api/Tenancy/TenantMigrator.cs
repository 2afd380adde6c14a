using System.Reflection;
using System.Text.RegularExpressions;

namespace Insights.Tenancy;

/// <summary>
/// Applies the scripts of <c>migrations/tenant</c> to one tenant schema: all pending scripts and their journal rows in
/// one transaction, or nothing, under a per-schema advisory lock so concurrent runs apply each script once. The journal
/// is on the tenant's store (<c>insights_store.tenant_schema_migrations</c>), so the transaction stays there; the
/// caller records the catalog's <c>schema_version</c> after it committed.
/// </summary>
public sealed partial class TenantMigrator
{
    private const string ResourcePrefix = "migrations/tenant/";
    private const string BaselineName = "baseline.sql";

    /// <summary>First key of the per-schema advisory locks ("tenant migrations").</summary>
    private const int LockNamespace = 0x746D6967;

    public TenantMigrator() : this(LoadEmbedded())
    {
    }

    /// <summary>
    /// Without a <paramref name="baseline"/> a new schema runs every script; with one, it must be through one of
    /// <paramref name="scripts"/>.
    /// </summary>
    public TenantMigrator(IReadOnlyList<TenantScript> scripts, TenantBaseline? baseline = null)
    {
        if (baseline is not null && !scripts.Contains(baseline.Through))
        {
            throw new ArgumentException($"The tenant baseline is through {baseline.Through.Name}, which is not one of the tenant migrations.", nameof(baseline));
        }

        Scripts = scripts;
        Baseline = baseline;
    }

    private TenantMigrator((List<TenantScript> Scripts, TenantBaseline? Baseline) embedded) : this(embedded.Scripts, embedded.Baseline)
    {
    }

    public IReadOnlyList<TenantScript> Scripts { get; }

    /// <summary>What a new schema is built from instead of the scripts it covers; null: every script runs.</summary>
    public TenantBaseline? Baseline { get; }

    public int LatestVersion => Scripts.Count == 0 ? 0 : Scripts[^1].Number;

    /// <summary>
    /// The SQL that builds a new schema, in order: the baseline, then every script after it (every script without a
    /// baseline). <c>$schema$</c> stands for the quoted schema name.
    /// </summary>
    public IEnumerable<string> NewSchemaSql() =>
        Baseline is null ? Scripts.Select(s => s.Sql) : Scripts.Where(s => s.Number > Baseline.Through.Number).Select(s => s.Sql).Prepend(Baseline.Sql);

    /// <summary>
    /// Applies pending scripts to the schema of <paramref name="database"/> in <paramref name="transaction"/>, creating
    /// it, when <paramref name="createSchema"/> is set, from the baseline and the scripts after it, journaled as if
    /// every script had run. Returns how many scripts were journaled.
    /// </summary>
    public async Task<int> MigrateAsync(
        TenantDatabase database, NpgsqlConnection connection, NpgsqlTransaction transaction, bool createSchema, CancellationToken cancellationToken)
    {
        var schema = database.Schema;
        var batch = new NpgsqlBatch(connection, transaction);
        await using (batch)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            {
                Parameters = { new() { Value = LockNamespace }, new() { Value = schema.Value } },
            });
            if (createSchema)
            {
                batch.BatchCommands.Add(new NpgsqlBatchCommand(database.CreateSchemaSql));
            }

            await batch.ExecuteNonQueryAsync(cancellationToken);
        }

        List<TenantScript> pending;
        IEnumerable<string> sql;
        if (createSchema)
        {
            pending = [.. Scripts];
            sql = NewSchemaSql();
        }
        else
        {
            var applied = new HashSet<string>(StringComparer.Ordinal);
            await using (var query = new NpgsqlCommand("SELECT script FROM insights_store.tenant_schema_migrations WHERE schema_name = $1", connection, transaction))
            {
                query.Parameters.Add(new NpgsqlParameter { Value = schema.Value });
                await using var reader = await query.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    applied.Add(reader.GetString(0));
                }
            }

            pending = [.. Scripts.Where(s => !applied.Contains(s.Name))];
            sql = pending.Select(s => s.Sql);
        }

        if (pending.Count == 0)
        {
            return 0;
        }

        foreach (var script in sql)
        {
            // A plain command: a script may hold several statements.
            await using var command = new NpgsqlCommand(database.Script(script), connection, transaction);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var apply = new NpgsqlBatch(connection, transaction);
        foreach (var script in pending)
        {
            apply.BatchCommands.Add(new NpgsqlBatchCommand("INSERT INTO insights_store.tenant_schema_migrations (schema_name, script) VALUES ($1, $2)")
            {
                Parameters = { new() { Value = schema.Value }, new() { Value = script.Name } },
            });
        }

        await apply.ExecuteNonQueryAsync(cancellationToken);
        return pending.Count;
    }

    /// <summary>
    /// Records in the catalog that the tenant's schema is at <see cref="LatestVersion"/>, after the store's migration
    /// committed. Lost with a crash in between, it is written by the next run, which finds nothing pending.
    /// </summary>
    public async Task RecordVersionAsync(CatalogDatabase catalog, string tenantId, CancellationToken cancellationToken)
    {
        await using var command = catalog.CreateCommand(
            "UPDATE catalog.tenants SET schema_version = $2, updated_at = now() WHERE id = $1 AND schema_version IS DISTINCT FROM $2");
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        command.Parameters.Add(new NpgsqlParameter { Value = LatestVersion });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    [GeneratedRegex(@"\A-- baseline-through: (?<script>\S+)[ \t]*\r?$", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex BaselineMarker();

    private static (List<TenantScript> Scripts, TenantBaseline? Baseline) LoadEmbedded()
    {
        var assembly = Assembly.GetExecutingAssembly();
        var scripts = new List<TenantScript>();
        string? baselineSql = null;
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            var name = resource[ResourcePrefix.Length..];
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            if (name == BaselineName)
            {
                baselineSql = reader.ReadToEnd();
                continue;
            }

            var digits = new string(name.TakeWhile(char.IsAsciiDigit).ToArray());
            if (digits.Length == 0 || !int.TryParse(digits, out var number))
            {
                throw new InvalidOperationException($"Tenant migration '{name}' must start with its number, e.g. 0002_queue.sql.");
            }

            scripts.Add(new TenantScript(name, number, reader.ReadToEnd()));
        }

        scripts.Sort((a, b) => a.Number.CompareTo(b.Number));
        var duplicate = scripts.GroupBy(s => s.Number).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException($"Two tenant migrations share number {duplicate.Key}: {string.Join(", ", duplicate.Select(s => s.Name))}.");
        }

        return (scripts, baselineSql is null ? null : ParseBaseline(baselineSql, scripts));
    }

    /// <summary>Reads the migration a baseline is through from its first line.</summary>
    internal static TenantBaseline ParseBaseline(string sql, IReadOnlyList<TenantScript> scripts)
    {
        var marker = BaselineMarker().Match(sql);
        if (!marker.Success)
        {
            throw new InvalidOperationException($"The first line of tenant {BaselineName} must name the newest migration it holds, e.g. '-- baseline-through: 0003_queue_envelope_text.sql'.");
        }

        var through = marker.Groups["script"].Value;
        return new TenantBaseline(
            scripts.FirstOrDefault(s => s.Name == through)
                ?? throw new InvalidOperationException($"Tenant {BaselineName} is through '{through}', which is not a tenant migration."),
            sql);
    }
}
