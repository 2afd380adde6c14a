namespace Insights.Ingestion;

/// <summary>
/// Deletes the runs that finished more than <see cref="IngestionRunOptions.RunRetention"/> ago, oldest first, in
/// batches (scheduler role, on the reaper's timer); queued and running runs never, however old. Nodes that trim at the
/// same time share the rows (<c>FOR UPDATE SKIP LOCKED</c>). The look is one probe of a partial index.
/// </summary>
public sealed class IngestionRunRetention(CatalogDatabase dataSource, IOptions<IngestionRunOptions> options, ILogger<IngestionRunRetention> logger)
{
    private const int BatchSize = 1000;

    /// <summary>Returns how many runs went.</summary>
    public async Task<long> TrimAsync(CancellationToken cancellationToken)
    {
        long total = 0;
        while (true)
        {
            await using var command = dataSource.CreateCommand(
                $"""
                DELETE FROM catalog.ingestion_runs WHERE id IN (
                    SELECT id FROM catalog.ingestion_runs
                    WHERE status IN ('succeeded', 'failed', 'interrupted') AND finished_at < now() - $1
                    ORDER BY finished_at
                    LIMIT {BatchSize}
                    FOR UPDATE SKIP LOCKED)
                """);
            command.Parameters.Add(new NpgsqlParameter { Value = options.Value.RunRetention });
            var deleted = await command.ExecuteNonQueryAsync(cancellationToken);
            total += deleted;
            if (deleted < BatchSize)
            {
                // Sweeps: one per interval, trimmed by the same rule.
                await using var sweeps = dataSource.CreateCommand(
                    "DELETE FROM catalog.ingestion_sweeps WHERE status IN ('succeeded', 'failed', 'interrupted') AND finished_at < now() - $1");
                sweeps.Parameters.Add(new NpgsqlParameter { Value = options.Value.RunRetention });
                await sweeps.ExecuteNonQueryAsync(cancellationToken);

                if (total > 0)
                {
                    logger.LogInformation("Deleted {Count} ingestion runs finished more than {Days:0.#} days ago", total, options.Value.RunRetention.TotalDays);
                }

                return total;
            }
        }
    }
}
