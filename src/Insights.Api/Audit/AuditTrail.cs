using Insights.Database;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Insights.Audit;

/// <summary>The admin audit trail (<c>catalog.audit_log</c>): every admin action, kept after its tenant goes.</summary>
public sealed class AuditTrail(CatalogContexts catalog, ILogger<AuditTrail> logger)
{
    /// <summary>
    /// Records an action on its own; a record that cannot be written is logged, never thrown: the action happened.
    /// </summary>
    public async Task RecordAsync(string subject, string action, string? tenantId, string outcome, string? detail)
    {
        try
        {
            await using var context = await catalog.CreateAsync(CancellationToken.None);
            Add(context, subject, action, tenantId, outcome, detail);
            await context.SaveChangesAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is NpgsqlException or DbUpdateException)
        {
            logger.LogError(e, "Could not write the audit record of {Action} on {TenantId} by {Subject}", action, tenantId, subject);
        }
    }

    /// <summary>Adds a record to the caller's context: it commits with the caller's other writes.</summary>
    public static void Add(CatalogDbContext context, string subject, string action, string? tenantId, string outcome, string? detail = null) =>
        context.Set<AuditRow>().Add(new AuditRow { Subject = subject, Action = action, TenantId = tenantId, Outcome = outcome, Detail = detail });

    /// <summary>A record as a command of the caller's batch: it commits with the batch's transaction.</summary>
    public static NpgsqlBatchCommand Command(string subject, string action, string? tenantId, string outcome, string? detail) =>
        new("INSERT INTO catalog.audit_log (subject, action, tenant_id, outcome, detail) VALUES ($1, $2, $3, $4, $5)")
        {
            Parameters =
            {
                new() { Value = subject }, new() { Value = action }, new() { Value = (object?)tenantId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text },
                new() { Value = outcome }, new() { Value = (object?)detail ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text },
            },
        };
}
