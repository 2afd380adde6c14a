using Insights.Tenancy;

namespace Insights.Ingestion;

/// <summary>A tenant's cursors and runs, from its provisioning to its deletion.</summary>
internal sealed class IngestionTenantLifecycle(IngestionTrigger trigger) : ITenantLifecycle
{
    /// <summary>The trigger of the run that catches a resumed tenant up.</summary>
    public const string ResumedTrigger = "resumed";

    // Its ingestion lag counts from its creation until its first run reads its source.
    public void Activating(NpgsqlBatch catalog, string tenantId) =>
        catalog.BatchCommands.Add(new NpgsqlBatchCommand(
            $"""
            INSERT INTO catalog.ingestion_cursors (tenant_id, moved_at, created_at)
            SELECT id, NULL, created_at FROM {TenantRows.Tenants} WHERE id = $1
            ON CONFLICT (tenant_id) DO NOTHING
            """)
        {
            Parameters = { new() { Value = tenantId } },
        });

    // Rows the fleet sweep left aside while the tenant was suspended are read by a run of its own.
    public async Task ResumingAsync(NpgsqlConnection catalog, NpgsqlTransaction transaction, string tenantId, CancellationToken cancellationToken) =>
        await trigger.RequestAsync(catalog, transaction, tenantId, ResumedTrigger, cancellationToken);

    public void Forgetting(NpgsqlBatch catalog, string tenantId)
    {
        foreach (var sql in (string[])["DELETE FROM catalog.ingestion_cursors WHERE tenant_id = $1", "DELETE FROM catalog.ingestion_runs WHERE tenant_id = $1"])
        {
            catalog.BatchCommands.Add(new NpgsqlBatchCommand(sql) { Parameters = { new() { Value = tenantId } } });
        }
    }

    // The cursor moves with the schema, read while the tenant's writes are held.
    public async Task SwitchingStoresAsync(
        NpgsqlConnection source, NpgsqlTransaction held, NpgsqlConnection target, NpgsqlTransaction transaction, SchemaName schema,
        CancellationToken cancellationToken)
    {
        (DateTimeOffset UpdatedAt, string Id, DateTimeOffset MovedAt)? copy = null;
        await using (var cursor = new NpgsqlCommand(
            "SELECT updated_at, id, moved_at FROM insights_store.ingestion_cursors WHERE schema_name = $1", source, held))
        {
            cursor.Parameters.Add(new NpgsqlParameter { Value = schema.Value });
            await using var reader = await cursor.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                copy = (reader.GetFieldValue<DateTimeOffset>(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2));
            }
        }

        if (copy is var (updatedAt, id, movedAt))
        {
            await using var write = new NpgsqlCommand(
                "INSERT INTO insights_store.ingestion_cursors (schema_name, updated_at, id, moved_at) VALUES ($1, $2, $3, $4)", target, transaction);
            write.Parameters.Add(new NpgsqlParameter { Value = schema.Value });
            write.Parameters.Add(new NpgsqlParameter { Value = updatedAt });
            write.Parameters.Add(new NpgsqlParameter { Value = id });
            write.Parameters.Add(new NpgsqlParameter { Value = movedAt });
            await write.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    public void DroppingSchema(NpgsqlBatch store, SchemaName schema) =>
        store.BatchCommands.Add(new NpgsqlBatchCommand("DELETE FROM insights_store.ingestion_cursors WHERE schema_name = $1")
        {
            Parameters = { new() { Value = schema.Value } },
        });
}
