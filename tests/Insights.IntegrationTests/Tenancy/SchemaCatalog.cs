using System.Text;
using Insights.Database;
using Npgsql;

namespace Insights.IntegrationTests.Tenancy;

/// <summary>
/// Everything PostgreSQL's system catalogs say about one schema's objects, one line per object or column, keyed by what
/// it is and its name. The schema's own name is written <c>$schema$</c>, so two schemas can be compared.
/// </summary>
public static class SchemaCatalog
{
    /// <summary>Each query returns (key, description) rows for the schema named by <c>$1</c>.</summary>
    private static readonly string[] Queries =
    [
        // Every relation: tables, indexes, sequences, views, composite types; owner, access rights, options, comments.
        """
        SELECT 'relation ' || c.relname,
               format('kind %s, persistence %s, owner %s, options %s, acl %s, toast %s, row security %s/%s, replica identity %s, comment %s',
                      c.relkind, c.relpersistence, pg_get_userbyid(c.relowner), c.reloptions, c.relacl, c.reltoastrelid <> 0,
                      c.relrowsecurity, c.relforcerowsecurity, c.relreplident, obj_description(c.oid, 'pg_class'))
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1
        """,
        // Columns in their order (among the live ones: a dropped column leaves a gap in attnum, not in what users see).
        """
        SELECT 'column ' || c.relname || '.' || a.attname,
               format('position %s, type %s, not null %s, default %s, identity %s, generated %s, collation %s, storage %s, compression %s, comment %s',
                      row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum), format_type(a.atttypid, a.atttypmod), a.attnotnull,
                      pg_get_expr(d.adbin, d.adrelid), nullif(a.attidentity, ''), nullif(a.attgenerated, ''), co.collname,
                      a.attstorage, nullif(a.attcompression, ''), col_description(c.oid, a.attnum))
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        LEFT JOIN pg_collation co ON co.oid = a.attcollation
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c') AND a.attnum > 0 AND NOT a.attisdropped
        """,
        // Constraints of tables and domains: the definition covers type, columns, references and deferrability.
        """
        SELECT 'constraint ' || coalesce(c.relname, t.typname) || '.' || k.conname,
               format('type %s, %s, valid %s, comment %s', k.contype, pg_get_constraintdef(k.oid, true), k.convalidated,
                      obj_description(k.oid, 'pg_constraint'))
        FROM pg_constraint k
        JOIN pg_namespace n ON n.oid = k.connamespace
        LEFT JOIN pg_class c ON c.oid = k.conrelid
        LEFT JOIN pg_type t ON t.oid = k.contypid
        WHERE n.nspname = $1
        """,
        """
        SELECT 'index ' || i.relname,
               format('%s; clustered %s, replica identity %s, valid %s', pg_get_indexdef(x.indexrelid), x.indisclustered, x.indisreplident, x.indisvalid)
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_namespace n ON n.oid = i.relnamespace
        WHERE n.nspname = $1
        """,
        // Sequences, serial or identity, with the column that owns them.
        """
        SELECT 'sequence ' || c.relname,
               format('type %s, start %s, increment %s, min %s, max %s, cache %s, cycle %s, owned by %s (%s)',
                      format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
                      (SELECT t.relname || '.' || a.attname FROM pg_depend d
                       JOIN pg_class t ON t.oid = d.refobjid
                       JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                       WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')),
                      (SELECT string_agg(d.deptype::text, ',') FROM pg_depend d
                       WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass))
        FROM pg_sequence s
        JOIN pg_class c ON c.oid = s.seqrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1
        """,
        """
        SELECT 'view ' || c.relname, pg_get_viewdef(c.oid, true)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('v', 'm')
        """,
        // Functions and procedures by signature; aggregates and window functions by signature and kind only.
        """
        SELECT 'function ' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
               format('kind %s, %s, acl %s, comment %s', p.prokind, CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid) END,
                      p.proacl, obj_description(p.oid, 'pg_proc'))
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = $1
        """,
        """
        SELECT 'trigger ' || c.relname || '.' || g.tgname, format('%s; enabled %s', pg_get_triggerdef(g.oid, true), g.tgenabled)
        FROM pg_trigger g
        JOIN pg_class c ON c.oid = g.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND NOT g.tgisinternal
        """,
        """
        SELECT 'policy ' || tablename || '.' || policyname, format('%s %s to %s, using %s, check %s', permissive, cmd, roles, qual, with_check)
        FROM pg_policies WHERE schemaname = $1
        """,
        // Enums, domains and other types of their own (a relation's row type is described with the relation).
        """
        SELECT 'type ' || t.typname,
               format('type %s, base %s, not null %s, default %s, labels %s, comment %s', t.typtype, format_type(t.typbasetype, t.typtypmod),
                      t.typnotnull, t.typdefault,
                      (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid),
                      obj_description(t.oid, 'pg_type'))
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = $1 AND t.typrelid = 0 AND t.typelem = 0
        """,
    ];

    /// <summary>Reads the description of every object of <paramref name="schema"/>.</summary>
    public static async Task<SortedDictionary<string, string>> ReadAsync(NpgsqlDataSource db, SchemaName schema)
    {
        var objects = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var query in Queries)
        {
            await using var command = db.CreateCommand(query);
            command.Parameters.Add(new NpgsqlParameter { Value = schema.Value });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var key = reader.GetString(0);
                if (!objects.TryAdd(key, Normalize(reader.IsDBNull(1) ? "" : reader.GetString(1), schema)))
                {
                    throw new InvalidOperationException($"Two objects of {schema} read as '{key}'.");
                }
            }
        }

        return objects;
    }

    /// <summary>Each difference between two schemas' descriptions on a line of its own; empty when they are equal.</summary>
    public static string Differences(string leftName, IReadOnlyDictionary<string, string> left, string rightName, IReadOnlyDictionary<string, string> right)
    {
        var text = new StringBuilder();
        foreach (var key in left.Keys.Union(right.Keys).Order(StringComparer.Ordinal))
        {
            var inLeft = left.TryGetValue(key, out var l);
            var inRight = right.TryGetValue(key, out var r);
            if (!inLeft)
            {
                text.AppendLine($"{key}: only in {rightName}: {r}");
            }
            else if (!inRight)
            {
                text.AppendLine($"{key}: only in {leftName}: {l}");
            }
            else if (l != r)
            {
                text.AppendLine($"{key}:").AppendLine($"  {leftName}: {l}").AppendLine($"  {rightName}: {r}");
            }
        }

        return text.ToString();
    }

    private static string Normalize(string description, SchemaName schema) =>
        description.Replace(schema.Quoted, "$schema$", StringComparison.Ordinal).Replace(schema.Value, "$schema$", StringComparison.Ordinal);
}
