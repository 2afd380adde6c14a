namespace Insights.Ingestion;

/// <summary>The catalog's record of sweeps, for the admins.</summary>
public sealed class FleetSweeps(CatalogDatabase dataSource)
{
    /// <summary>Newest first.</summary>
    public async Task<(List<IngestionSweep> Items, bool More)> ListAsync(Guid? before, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            """
            SELECT id, status, requested_at, started_at, finished_at, since, watermark_before, watermark_after, pages, rows_read, rows_routed,
                   rows_changed, rows_deferred, rows_unknown, tenants_touched, bytes_processed, bytes_billed, estimated_cost_usd, error,
                   audit, rows_late, read_by, arrival_watermark_before, arrival_watermark_after, note
            FROM catalog.ingestion_sweeps
            WHERE $1::uuid IS NULL OR id < $1
            ORDER BY id DESC LIMIT $2
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)before ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.Add(new NpgsqlParameter { Value = limit + 1 });
        var items = new List<IngestionSweep>(limit + 1);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(new IngestionSweep(
                reader.GetGuid(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2), Time(3), Time(4), Time(5), Time(6), Time(7),
                reader.GetInt32(8), reader.GetInt64(9), reader.GetInt64(10), reader.GetInt64(11), reader.GetInt64(12), reader.GetInt64(13),
                reader.GetInt32(14), reader.GetInt64(15), reader.GetInt64(16), reader.GetDecimal(17), reader.IsDBNull(18) ? null : reader.GetString(18),
                reader.GetBoolean(19), reader.GetInt64(20), reader.GetString(21), Time(22), Time(23), reader.IsDBNull(24) ? null : reader.GetString(24)));
        }

        return (items, Http.PageRows.TrimExtra(items, limit));

        DateTimeOffset? Time(int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<DateTimeOffset>(ordinal);
    }
}
