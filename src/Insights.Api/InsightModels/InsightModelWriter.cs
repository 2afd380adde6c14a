namespace Insights.InsightModels;

/// <summary>
/// How models are written into a tenant's <c>insight_models</c>: a page is staged by binary COPY into a temporary
/// table of its transaction (<see cref="CreateStagingSql"/>, then <see cref="StagingCopySql"/> with the columns in that
/// order), then applied in one statement.
/// </summary>
public static class InsightModelWriter
{
    /// <summary>The staging table of one page, dropped at the commit of its transaction.</summary>
    public const string CreateStagingSql =
        """
        CREATE TEMP TABLE ingest_page (
            id text, insight text, module text, key text, filter text, date_from date, date_to date,
            payload jsonb, version bigint, updated_at timestamptz, deleted boolean) ON COMMIT DROP
        """;

    /// <summary>The binary COPY into the staging table, columns in <see cref="CreateStagingSql"/>'s order.</summary>
    public const string StagingCopySql = "COPY ingest_page FROM STDIN (FORMAT BINARY)";

    /// <summary>
    /// Applies the staged page: a model is written only when its content differs, and never replaced by an older row of
    /// it. Adds to <paramref name="changed"/> the ids of the models inserted or changed.
    /// </summary>
    public static async Task ApplyStagedAsync(
        TenantDatabase database, NpgsqlConnection connection, NpgsqlTransaction transaction, List<string> changed, CancellationToken cancellationToken)
    {
        await using var upsert = new NpgsqlCommand(
            $"""
            INSERT INTO {database.Table("insight_models")} AS m (id, insight, module, key, filter, date_from, date_to, payload, version, updated_at, deleted)
            SELECT id, insight, module, key, filter, date_from, date_to, payload, version, updated_at, deleted FROM ingest_page
            ON CONFLICT (id) DO UPDATE SET
                insight = EXCLUDED.insight, module = EXCLUDED.module, key = EXCLUDED.key, filter = EXCLUDED.filter,
                date_from = EXCLUDED.date_from, date_to = EXCLUDED.date_to, payload = EXCLUDED.payload, version = EXCLUDED.version,
                updated_at = EXCLUDED.updated_at, deleted = EXCLUDED.deleted, stored_at = now()
            WHERE (m.insight, m.module, m.key, m.filter, m.date_from, m.date_to, m.payload, m.version, m.deleted)
                IS DISTINCT FROM (EXCLUDED.insight, EXCLUDED.module, EXCLUDED.key, EXCLUDED.filter, EXCLUDED.date_from,
                                  EXCLUDED.date_to, EXCLUDED.payload, EXCLUDED.version, EXCLUDED.deleted)
              AND EXCLUDED.updated_at >= m.updated_at
            RETURNING m.id
            """, connection, transaction);
        await using var reader = await upsert.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            changed.Add(reader.GetString(0));
        }
    }
}
