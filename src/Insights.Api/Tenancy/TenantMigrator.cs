using System.Reflection;
using Npgsql;

namespace Insights.Tenancy;

/// <summary>One numbered script of <c>migrations/tenant</c>.</summary>
public sealed record TenantScript(string Name, int Number, string Sql);

/// <summary>
/// Applies the scripts of <c>migrations/tenant</c> inside one tenant schema. A schema is migrated in one
/// transaction (PostgreSQL DDL is transactional): all pending scripts and their journal rows, or nothing.
/// A transaction-level advisory lock per schema makes concurrent runs apply each script once.
/// </summary>
public sealed class TenantMigrator
{
    private const string ResourcePrefix = "migrations/tenant/";
    private const string SchemaVariable = "$schema$";

    /// <summary>First key of the per-schema advisory locks ("tenant migrations").</summary>
    private const int LockNamespace = 0x746D6967;

    public TenantMigrator() : this(LoadEmbeddedScripts())
    {
    }

    public TenantMigrator(IReadOnlyList<TenantScript> scripts) => Scripts = scripts;

    public IReadOnlyList<TenantScript> Scripts { get; }

    public int LatestVersion => Scripts.Count == 0 ? 0 : Scripts[^1].Number;

    /// <summary>
    /// Applies pending scripts to <paramref name="schema"/> inside <paramref name="transaction"/>, creating the schema
    /// when <paramref name="createSchema"/> is set, and records the version on the tenant row. Returns how many ran.
    /// </summary>
    public async Task<int> MigrateAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, SchemaName schema, bool createSchema, CancellationToken cancellationToken)
    {
        var batch = new NpgsqlBatch(connection, transaction);
        await using (batch)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            {
                Parameters = { new() { Value = LockNamespace }, new() { Value = schema.Value } },
            });
            if (createSchema)
            {
                batch.BatchCommands.Add(new NpgsqlBatchCommand($"CREATE SCHEMA {schema.Quoted}"));
            }

            await batch.ExecuteNonQueryAsync(cancellationToken);
        }

        var applied = new HashSet<string>(StringComparer.Ordinal);
        if (!createSchema)
        {
            await using var query = new NpgsqlCommand("SELECT script FROM catalog.tenant_schema_migrations WHERE schema_name = $1", connection, transaction);
            query.Parameters.Add(new NpgsqlParameter { Value = schema.Value });
            await using var reader = await query.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                applied.Add(reader.GetString(0));
            }
        }

        var pending = Scripts.Where(s => !applied.Contains(s.Name)).ToList();
        if (pending.Count == 0)
        {
            return 0;
        }

        foreach (var script in pending)
        {
            // A plain command: a script may hold several statements.
            await using var command = new NpgsqlCommand(script.Sql.Replace(SchemaVariable, schema.Quoted, StringComparison.Ordinal), connection, transaction);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var apply = new NpgsqlBatch(connection, transaction);
        foreach (var script in pending)
        {
            apply.BatchCommands.Add(new NpgsqlBatchCommand("INSERT INTO catalog.tenant_schema_migrations (schema_name, script) VALUES ($1, $2)")
            {
                Parameters = { new() { Value = schema.Value }, new() { Value = script.Name } },
            });
        }

        apply.BatchCommands.Add(new NpgsqlBatchCommand("UPDATE catalog.tenants SET schema_version = $2, updated_at = now() WHERE schema_name = $1")
        {
            Parameters = { new() { Value = schema.Value }, new() { Value = LatestVersion } },
        });
        await apply.ExecuteNonQueryAsync(cancellationToken);
        return pending.Count;
    }

    private static List<TenantScript> LoadEmbeddedScripts()
    {
        var assembly = Assembly.GetExecutingAssembly();
        var scripts = new List<TenantScript>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            var name = resource[ResourcePrefix.Length..];
            var digits = new string(name.TakeWhile(char.IsAsciiDigit).ToArray());
            if (digits.Length == 0 || !int.TryParse(digits, out var number))
            {
                throw new InvalidOperationException($"Tenant migration '{name}' must start with its number, e.g. 0002_queue.sql.");
            }

            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            scripts.Add(new TenantScript(name, number, reader.ReadToEnd()));
        }

        scripts.Sort((a, b) => a.Number.CompareTo(b.Number));
        var duplicate = scripts.GroupBy(s => s.Number).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException($"Two tenant migrations share number {duplicate.Key}: {string.Join(", ", duplicate.Select(s => s.Name))}.");
        }

        return scripts;
    }
}
