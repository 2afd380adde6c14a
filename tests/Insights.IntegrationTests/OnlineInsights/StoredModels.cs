using Insights.Database;
using Npgsql;
using NpgsqlTypes;

namespace Insights.IntegrationTests.OnlineInsights;

/// <summary>A model as ingestion would have stored it.</summary>
public sealed record StoredModel(
    string Id, string Insight, string? Key, string? Filter, DateOnly? DateFrom, DateOnly? DateTo, long Version, DateTimeOffset UpdatedAt,
    string PayloadJson, bool Deleted = false);

public static class StoredModels
{
    /// <summary>Takes a tenant's stored models away from under the worker, so that its lookups fail.</summary>
    public static async Task BreakAsync(string connectionString, string tenantId)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var rename = dataSource.CreateCommand(
            $"ALTER TABLE {SchemaName.ForTenant(tenantId).Quoted}.insight_models RENAME TO insight_models_gone");
        await rename.ExecuteNonQueryAsync();
    }

    /// <summary>Writes models straight into a tenant's schema.</summary>
    public static async Task StoreAsync(string connectionString, string tenantId, params StoredModel[] models)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var batch = dataSource.CreateBatch();
        foreach (var m in models)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(
                $"""
                INSERT INTO {SchemaName.ForTenant(tenantId).Quoted}.insight_models
                    (id, insight, module, key, filter, date_from, date_to, payload, version, updated_at, deleted)
                VALUES ($1, $2, 'SIGAFIN', $3, $4, $5, $6, $7::jsonb, $8, $9, $10)
                """)
            {
                Parameters =
                {
                    new() { Value = m.Id },
                    new() { Value = m.Insight },
                    new() { Value = (object?)m.Key ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
                    new() { Value = (object?)m.Filter ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
                    new() { Value = (object?)m.DateFrom ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Date },
                    new() { Value = (object?)m.DateTo ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Date },
                    new() { Value = m.PayloadJson },
                    new() { Value = m.Version },
                    new() { Value = m.UpdatedAt },
                    new() { Value = m.Deleted },
                },
            });
        }

        await batch.ExecuteNonQueryAsync();
    }
}
