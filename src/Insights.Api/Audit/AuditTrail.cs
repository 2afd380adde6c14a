using Microsoft.EntityFrameworkCore;

namespace Insights.Audit;

/// <summary>The audit trail (<c>catalog.audit_log</c>): every call that changes state, kept after its tenant goes.</summary>
public sealed class AuditTrail(CatalogDatabase catalog, CatalogContexts contexts, ILogger<AuditTrail> logger)
{
    private const int TrimBatch = 5000;

    /// <summary>
    /// Records an action on its own; a record that cannot be written is logged, never thrown: the action happened.
    /// </summary>
    public async Task RecordAsync(AuditActor actor, string action, string? tenantId, string outcome, string? detail)
    {
        try
        {
            await using var context = await contexts.CreateAsync(CancellationToken.None);
            Add(context, actor, action, tenantId, outcome, detail);
            await context.SaveChangesAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is NpgsqlException or DbUpdateException)
        {
            logger.LogError(e, "Could not write the audit record of {Action} on {TenantId} by {Subject}", action, tenantId, actor.Subject);
        }
    }

    /// <summary>Adds a record to the caller's context: it commits with the caller's other writes.</summary>
    public static void Add(CatalogDbContext context, AuditActor actor, string action, string? tenantId, string outcome, string? detail = null) =>
        context.Set<AuditRow>().Add(new AuditRow
        {
            Subject = actor.Subject, Name = actor.Name, Role = actor.Role, ClientAddress = actor.ClientAddress, RequestId = actor.RequestId,
            Action = action, TenantId = tenantId, Outcome = outcome, Detail = detail,
        });

    /// <summary>A record as a command of the caller's batch: it commits with the batch's transaction.</summary>
    public static NpgsqlBatchCommand Command(string subject, string action, string? tenantId, string outcome, string? detail) =>
        new("INSERT INTO catalog.audit_log (subject, action, tenant_id, outcome, detail) VALUES ($1, $2, $3, $4, $5)")
        {
            Parameters =
            {
                new() { Value = subject }, new() { Value = action }, new() { Value = (object?)tenantId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
                new() { Value = outcome }, new() { Value = (object?)detail ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
            },
        };

    /// <summary>
    /// One page of records, newest first, after <paramref name="before"/> (the last record of the previous page). Each
    /// filter has an index led by it and followed by <c>(at, id)</c>, so a page reads what it returns.
    /// </summary>
    public async Task<(List<AuditEntry> Items, bool More)> ListAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        var sql = new StringBuilder(
            "SELECT id, at, subject, name, role, client_address, request_id, tenant_id, action, outcome, detail FROM catalog.audit_log WHERE true");
        await using var command = catalog.CreateCommand();
        void Where(string condition, object value, NpgsqlDbType type)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value, NpgsqlDbType = type });
            sql.Append(" AND ").Append(condition.Replace("@", "$" + command.Parameters.Count));
        }

        if (query.Tenant is not null)
        {
            Where("tenant_id = @", query.Tenant, NpgsqlDbType.Text);
        }

        if (query.Subject is not null)
        {
            Where("subject = @", query.Subject, NpgsqlDbType.Text);
        }

        if (query.Action is not null)
        {
            Where("action = @", query.Action, NpgsqlDbType.Text);
        }

        if (query.Since is { } since)
        {
            Where("at >= @", since, NpgsqlDbType.TimestampTz);
        }

        if (query.Until is { } until)
        {
            Where("at < @", until, NpgsqlDbType.TimestampTz);
        }

        if (query.Before is { } before)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = before.At, NpgsqlDbType = NpgsqlDbType.TimestampTz });
            command.Parameters.Add(new NpgsqlParameter { Value = before.Id, NpgsqlDbType = NpgsqlDbType.Bigint });
            sql.Append($" AND (at, id) < (${command.Parameters.Count - 1}, ${command.Parameters.Count})");
        }

        sql.Append($" ORDER BY at DESC, id DESC LIMIT {query.Limit + 1}");
        command.CommandText = sql.ToString();
        var items = new List<AuditEntry>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                items.Add(new AuditEntry(
                    reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetString(2), Text(reader, 3), Text(reader, 4),
                    Text(reader, 5), Text(reader, 6), Text(reader, 7), reader.GetString(8), reader.GetString(9), Text(reader, 10)));
            }
        }

        return (items, Http.PageRows.TrimExtra(items, query.Limit));

        static string? Text(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
    }

    /// <summary>
    /// Deletes the records older than <paramref name="retention"/>, oldest first, in batches on the <c>(at, id)</c>
    /// index: the work is what expired. Returns how many went.
    /// </summary>
    public async Task<long> TrimAsync(TimeSpan retention, CancellationToken cancellationToken)
    {
        long total = 0;
        while (true)
        {
            await using var command = catalog.CreateCommand(
                $"""
                DELETE FROM catalog.audit_log WHERE id IN (
                    SELECT id FROM catalog.audit_log WHERE at < now() - $1 ORDER BY at, id LIMIT {TrimBatch} FOR UPDATE SKIP LOCKED)
                """);
            command.Parameters.Add(new NpgsqlParameter { Value = retention });
            var deleted = await command.ExecuteNonQueryAsync(cancellationToken);
            total += deleted;
            if (deleted < TrimBatch)
            {
                return total;
            }
        }
    }
}
