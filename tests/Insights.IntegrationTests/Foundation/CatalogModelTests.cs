using Insights.Database;
using Insights.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Insights.IntegrationTests.Foundation;

/// <summary>The EF Core model of the catalog against the tables the catalog migrations really create.</summary>
[Collection(SharedHost.Name)]
public sealed class CatalogModelTests(InsightsFixture host)
{
    [Fact]
    public async Task Every_mapped_column_exists_with_its_type_and_every_required_column_is_mapped()
    {
        await using var context = await host.Factory.Services.GetRequiredService<CatalogContexts>().CreateAsync(CancellationToken.None);
        await using var db = host.Database.CreateDataSource();
        var problems = new List<string>();
        foreach (var entity in context.Model.GetEntityTypes())
        {
            var table = entity.GetTableName()!;
            var columns = new Dictionary<string, (string Type, bool Required)>(StringComparer.Ordinal);
            await using (var command = db.CreateCommand(
                """
                SELECT column_name, udt_name, is_nullable = 'NO' AND column_default IS NULL AND is_identity = 'NO'
                FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2
                """))
            {
                command.Parameters.Add(new NpgsqlParameter { Value = entity.GetSchema() });
                command.Parameters.Add(new NpgsqlParameter { Value = table });
                await using var reader = await command.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    columns[reader.GetString(0)] = (reader.GetString(1), reader.GetBoolean(2));
                }
            }

            if (columns.Count == 0)
            {
                problems.Add($"{table}: no such table");
                continue;
            }

            var mapped = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in entity.GetProperties())
            {
                var column = property.GetColumnName();
                mapped.Add(column);
                if (column == "xmin")
                {
                    // PostgreSQL's row version: a system column of every table, not listed among its columns.
                    continue;
                }

                if (!columns.TryGetValue(column, out var actual))
                {
                    problems.Add($"{table}.{column}: mapped, not in the table");
                    continue;
                }

                var declared = property.GetColumnType();
                var expected = (declared.IndexOf('(', StringComparison.Ordinal) is var paren and > 0 ? declared[..paren].Trim() : declared) switch
                {
                    "text" => "text",
                    "jsonb" => "jsonb",
                    "integer" => "int4",
                    "bigint" => "int8",
                    "boolean" => "bool",
                    "uuid" => "uuid",
                    "double precision" => "float8",
                    "numeric" => "numeric",
                    "timestamp with time zone" => "timestamptz",
                    var other => other,
                };
                if (expected != actual.Type)
                {
                    problems.Add($"{table}.{column}: mapped as {property.GetColumnType()}, the table has {actual.Type}");
                }
            }

            problems.AddRange(columns.Where(c => c.Value.Required && !mapped.Contains(c.Key)).Select(c => $"{table}.{c.Key}: required, not mapped"));
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }
}
