using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Insights.Database;
using Insights.IntegrationTests.Infrastructure;
using Npgsql;

namespace Insights.IntegrationTests.SmartLink;

/// <summary>
/// The receive (its look and its lease) and ack statements keep their index plans as prepared statements. The pools prepare hot statements, and
/// after a few executions PostgreSQL may switch to a generic plan, planned without the parameters' values: a plan that
/// is only good for the values it saw (a LIMIT, an array's length) then scans the whole queue at every receive.
/// Checked by preparing each statement the service ran and explaining its generic plan on a queue of many messages.
/// </summary>
public sealed class QueuePlanTests : OwnDatabaseTests
{
    // A queue with a backlog to deliver, and the acked messages of the retention period.
    private const int Acked = 20_000;
    private const int Ready = 5000;

    [Fact]
    public async Task Receive_and_ack_never_scan_the_queue_table_in_their_generic_plans()
    {
        var settings = InsightsFactory.Settings(Authority, Database);
        settings["Roles"] = "api";
        await using var node = new InsightsFactory(settings);
        var tenantId = InsightsFixture.NewTenantId("plan");
        using (var admin = node.ClientWithToken(Authority.AdminToken()))
        {
            Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/tenants", new { id = tenantId, name = tenantId })).StatusCode);
        }

        var schema = SchemaName.ForTenant(tenantId);
        var table = schema.Quoted + ".queue_messages";
        await using var dataSource = Database.CreateDataSource();
        await using (var fill = dataSource.CreateCommand(
            $"""
            INSERT INTO {table} (id, type, envelope, status, finished_at)
            SELECT gen_random_uuid(), 'InsightModel', json_build_object('n', n)::text,
                   CASE WHEN n <= {Acked} THEN 'acked' ELSE 'ready' END, CASE WHEN n <= {Acked} THEN now() END
            FROM generate_series(1, {Acked + Ready}) AS n;
            ANALYZE {table};
            """))
        {
            await fill.ExecuteNonQueryAsync();
        }

        using var log = new StatementLog();
        using (var client = node.ClientWithToken(Authority.TenantToken(tenantId)))
        {
            var response = await client.PostAsJsonAsync("/api/v1/smartlink/receive", new { max = 10 });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var receipts = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("messages").EnumerateArray()
                .Select(m => m.GetProperty("receipt").GetString()).ToList();
            Assert.Equal(10, receipts.Count);
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/v1/smartlink/ack", new { receipts })).StatusCode);
        }

        // A batch is traced as its statements joined by ';': the transaction-local setting before a statement is not its own.
        var statements = log.Naming(schema).Select(s => s.Text)
            .Select(s => s.StartsWith("SELECT set_config(", StringComparison.Ordinal) ? s[(s.IndexOf(';', StringComparison.Ordinal) + 1)..] : s)
            .Distinct().ToList();
        var receive = Assert.Single(statements, s => s.Contains("FOR UPDATE SKIP LOCKED", StringComparison.Ordinal));
        var ack = Assert.Single(statements, s => s.Contains("SET status = 'acked'", StringComparison.Ordinal));
        var look = Assert.Single(statements, s => s.StartsWith("SELECT min(visible_at)", StringComparison.Ordinal));

        await using var connection = await dataSource.OpenConnectionAsync();
        Assert.DoesNotContain(table, await GenericPlanScansAsync(connection, look, "", ""));
        Assert.DoesNotContain(table, await GenericPlanScansAsync(connection, receive, "integer, double precision, integer", "10, 60, 5"));
        Assert.DoesNotContain(table, await GenericPlanScansAsync(connection, ack, "uuid[], uuid[]", "'{}', '{}'"));
    }

    /// <summary>The tables (schema-qualified, quoted) that the generic plan of <paramref name="sql"/> reads in full.</summary>
    private static async Task<List<string>> GenericPlanScansAsync(NpgsqlConnection connection, string sql, string types, string values)
    {
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var prepare = new NpgsqlCommand($"SET LOCAL plan_cache_mode = force_generic_plan; PREPARE planned{(types.Length > 0 ? $" ({types})" : "")} AS {sql}", connection, transaction))
        {
            await prepare.ExecuteNonQueryAsync();
        }

        string plan;
        await using (var explain = new NpgsqlCommand($"EXPLAIN (FORMAT JSON, VERBOSE) EXECUTE planned{(values.Length > 0 ? $" ({values})" : "")}", connection, transaction))
        {
            plan = (string)(await explain.ExecuteScalarAsync())!;
        }

        await using (var deallocate = new NpgsqlCommand("DEALLOCATE planned", connection, transaction))
        {
            await deallocate.ExecuteNonQueryAsync();
        }

        await transaction.RollbackAsync();
        var scans = new List<string>();
        Collect(JsonDocument.Parse(plan).RootElement[0].GetProperty("Plan"), scans);
        return scans;
    }

    private static void Collect(JsonElement node, List<string> scans)
    {
        if (node.GetProperty("Node Type").GetString() == "Seq Scan")
        {
            scans.Add($"\"{node.GetProperty("Schema").GetString()}\".{node.GetProperty("Relation Name").GetString()}");
        }

        if (node.TryGetProperty("Plans", out var children))
        {
            foreach (var child in children.EnumerateArray())
            {
                Collect(child, scans);
            }
        }
    }
}
