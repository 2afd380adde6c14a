using Insights.Database;
using Npgsql;

namespace Insights.IntegrationTests.Tenancy;

/// <summary>Direct looks into the database, to assert on what really happened.</summary>
public static class TenantData
{
    public static async Task<bool> SchemaExistsAsync(NpgsqlDataSource db, string tenantId)
    {
        await using var command = db.CreateCommand("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)");
        command.Parameters.Add(new NpgsqlParameter { Value = SchemaName.ForTenant(tenantId).Value });
        return (bool)(await command.ExecuteScalarAsync())!;
    }

    public static async Task<List<string>> TablesAsync(NpgsqlDataSource db, string tenantId)
    {
        await using var command = db.CreateCommand("SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1");
        command.Parameters.Add(new NpgsqlParameter { Value = SchemaName.ForTenant(tenantId).Value });
        var tables = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            tables.Add(reader.GetString(0));
        }

        return tables;
    }

    public static async Task<long> TenantSchemaCountAsync(NpgsqlDataSource db)
    {
        await using var command = db.CreateCommand("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 't\\_%'");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public static async Task InsertModelAsync(NpgsqlDataSource db, string tenantId, string id, string insight = "CashFlowForecast", string? key = null)
    {
        var schema = SchemaName.ForTenant(tenantId);
        await using var command = db.CreateCommand(
            $"INSERT INTO {schema.Quoted}.insight_models (id, insight, module, key, payload, version, updated_at) VALUES ($1, $2, 'SIGAFIN', $3, $4::jsonb, 1, now())");
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        command.Parameters.Add(new NpgsqlParameter { Value = insight });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)key ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = $$"""{"owner":"{{tenantId}}"}""" });
        await command.ExecuteNonQueryAsync();
    }
}
