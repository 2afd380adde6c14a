namespace Insights.Database;

/// <summary>
/// A tenant resolved to its database: the pool of its lane on its store, and the schema-qualified names of its tables.
/// The schema's name stays in the SQL text (a plan is prepared per statement text, so per schema); only this type
/// writes it there.
/// </summary>
public sealed class TenantDatabase : PostgresDatabase
{
    private readonly string prefix;

    internal TenantDatabase(string store, SchemaName schema, NpgsqlDataSource lane)
        : base(lane)
    {
        Store = store;
        Schema = schema;
        prefix = schema.Quoted + ".";
    }

    /// <summary>The store that holds the tenant's schema.</summary>
    public string Store { get; }

    public SchemaName Schema { get; }

    /// <summary>A table of the tenant's schema as SQL text names it: <c>"t_acme_…".queue_messages</c>.</summary>
    public string Table(string table) => prefix + table;

    /// <summary>A <c>migrations/tenant</c> script for this schema (<c>$schema$</c> is its quoted name).</summary>
    public string Script(string sql) => sql.Replace(SchemaVariable, Schema.Quoted, StringComparison.Ordinal);

    /// <summary>What stands for the schema's quoted name in the scripts of <c>migrations/tenant</c>.</summary>
    public const string SchemaVariable = "$schema$";

    public string CreateSchemaSql => "CREATE SCHEMA " + Schema.Quoted;

    public string DropSchemaSql => "DROP SCHEMA IF EXISTS " + Schema.Quoted + " CASCADE";

    /// <summary>Sets the schema aside as <paramref name="parked"/> (a name the caller made, not input).</summary>
    public string ParkSchemaSql(string parked) => $"ALTER SCHEMA {Schema.Quoted} RENAME TO {parked}";

    /// <summary>Brings the schema set aside under <paramref name="parked"/> back, unless it is back already.</summary>
    public string UnparkSchemaSql(string parked) =>
        $"""
        DO $$
        BEGIN
            IF EXISTS (SELECT FROM pg_namespace WHERE nspname = '{parked}') AND NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = '{Schema.Value}') THEN
                ALTER SCHEMA {parked} RENAME TO {Schema.Quoted};
            END IF;
        END $$
        """;

    /// <summary>Tables with at most this many estimated rows are counted exactly.</summary>
    private const long ExactCountBelow = 100_000;

    /// <summary>Every table of the schema with its rows and size on disk; none when the schema is not there.</summary>
    public async Task<IReadOnlyList<TableUsage>> TablesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        var tables = new List<(string Name, long Estimate, long Bytes)>();
        await using (var sizes = new NpgsqlCommand(
            """
            SELECT c.relname, c.reltuples::bigint, pg_total_relation_size(c.oid)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
            ORDER BY c.relname
            """, connection))
        {
            sizes.Parameters.Add(new NpgsqlParameter { Value = Schema.Value });
            await using var reader = await sizes.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                tables.Add((reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
            }
        }

        var usage = new List<TableUsage>(tables.Count);
        foreach (var (name, reltuples, bytes) in tables)
        {
            var estimate = reltuples;
            // reltuples is -1 until the table is first analyzed; small tables are counted exactly either way.
            if (estimate < ExactCountBelow)
            {
                await using var count = new NpgsqlCommand(
                    $"SELECT count(*) FROM (SELECT 1 FROM {prefix}{QuoteIdentifier(name)} LIMIT {ExactCountBelow + 1}) AS limited", connection);
                var exact = (long)(await count.ExecuteScalarAsync(cancellationToken))!;
                if (exact <= ExactCountBelow)
                {
                    usage.Add(new TableUsage(name, exact, false, bytes));
                    continue;
                }

                estimate = Math.Max(estimate, exact);
            }

            usage.Add(new TableUsage(name, estimate, true, bytes));
        }

        return usage;
    }

    /// <summary>Table names read from pg_class are quoted all the same.</summary>
    private static string QuoteIdentifier(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
