using System.Text.Json;
using Insights.Database;
using Insights.Hosting;
using Insights.Ingestion;
using Insights.Messaging;
using Npgsql;
using NpgsqlTypes;

namespace Insights.Tenancy;

public enum ProvisionOutcome
{
    Created,
    Exists,
    Failed,
}

public sealed record ProvisionResult(ProvisionOutcome Outcome, TenantResponse? Tenant, string? Reason);

public enum ChangeOutcome
{
    Done,
    NotFound,
    Conflict,
}

/// <summary>
/// The catalog of tenants and everything that changes it: real-time provisioning, edits, deprovisioning, audit.
/// </summary>
public sealed class TenantStore(
    NpgsqlDataSource dataSource,
    TenantConnections connections,
    TenantMigrator migrator,
    TenantDirectory directory,
    Outbox outbox,
    IngestionTrigger ingestion,
    ILogger<TenantStore> logger)
{
    /// <summary>The trigger of the run that catches a resumed tenant up.</summary>
    public const string ResumedTrigger = "resumed";

    private const string Columns = "id, name, status, status_reason, schema_version, created_at, updated_at, settings::text, store";

    /// <summary>First key of the per-tenant advisory locks of provisioning ("tprv").</summary>
    private const int ProvisionLockNamespace = 0x74707276;

    /// <summary>
    /// Catalog row, schema (the tenant baseline, then any newer tenant migration; journaled as every migration) and the
    /// audit record of <paramref name="subject"/> in one transaction, committed as <c>active</c>: a schema is never seen
    /// half-built. A concurrent create of the same id waits for this one and then finds it taken. A failure rolls
    /// everything back and records the tenant as <c>failed</c> with the reason; creating it again completes it.
    /// </summary>
    public async Task<ProvisionResult> ProvisionAsync(string id, string name, string settingsJson, string subject, CancellationToken cancellationToken)
    {
        var schema = SchemaName.ForTenant(id);
        // On the tenant's lane: its schema is built on the connection of the catalog row's transaction.
        var store = TenantStoreSettings.Main;
        await using var connection = await connections.For(store, schema).OpenConnectionAsync(cancellationToken);
        var step = "catalog";
        try
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

            // Concurrent creates of one id queue here, not on the row: a waiting insert would hold entries in the
            // tenants' indexes that the creating transaction's own updates can wait on, a deadlock.
            await using (var serialize = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1, hashtext($2))", connection, transaction))
            {
                serialize.Parameters.Add(new NpgsqlParameter { Value = ProvisionLockNamespace });
                serialize.Parameters.Add(new NpgsqlParameter { Value = id });
                await serialize.ExecuteNonQueryAsync(cancellationToken);
            }

            await using (var insert = new NpgsqlCommand(
                """
                INSERT INTO catalog.tenants (id, name, status, schema_name, settings, store)
                VALUES ($1, $2, 'provisioning', $3, $4::jsonb, $5)
                ON CONFLICT (id) DO UPDATE
                    SET name = EXCLUDED.name, settings = EXCLUDED.settings, store = EXCLUDED.store, status = 'provisioning', status_reason = NULL,
                        updated_at = now()
                    WHERE catalog.tenants.status = 'failed'
                RETURNING id
                """, connection, transaction))
            {
                insert.Parameters.Add(new NpgsqlParameter { Value = id });
                insert.Parameters.Add(new NpgsqlParameter { Value = name });
                insert.Parameters.Add(new NpgsqlParameter { Value = schema.Value });
                insert.Parameters.Add(new NpgsqlParameter { Value = settingsJson });
                insert.Parameters.Add(new NpgsqlParameter { Value = store });
                if (await insert.ExecuteScalarAsync(cancellationToken) is null)
                {
                    await transaction.RollbackAsync(cancellationToken);
                    return new ProvisionResult(ProvisionOutcome.Exists, await GetAsync(id, cancellationToken), null);
                }
            }

            step = "schema";
            await migrator.MigrateAsync(connection, transaction, schema, createSchema: true, cancellationToken);

            step = "activation";
            TenantResponse tenant;
            await using (var activate = new NpgsqlBatch(connection, transaction))
            {
                activate.BatchCommands.Add(new NpgsqlBatchCommand($"UPDATE catalog.tenants SET status = 'active', updated_at = now() WHERE id = $1 RETURNING {Columns}")
                {
                    Parameters = { new() { Value = id } },
                });
                // The audit record commits with the tenant: one commit (a WAL flush) for both, and no tenant without it.
                activate.BatchCommands.Add(AuditCommand(subject, "tenant.provision", id, "succeeded", null));

                // Listed in the fleet health view from the start; its empty queue is counted exactly.
                activate.BatchCommands.Add(new NpgsqlBatchCommand(
                    "INSERT INTO catalog.tenant_health (tenant_id, rebased_at) VALUES ($1, now()) ON CONFLICT (tenant_id) DO NOTHING")
                {
                    Parameters = { new() { Value = id } },
                });

                // The store's count of tenants, which placement reads.
                activate.BatchCommands.Add(new NpgsqlBatchCommand("UPDATE catalog.stores SET tenants = tenants + 1 WHERE name = $1")
                {
                    Parameters = { new() { Value = store } },
                });

                // Its ingestion lag counts from its creation until its first run reads its source.
                activate.BatchCommands.Add(new NpgsqlBatchCommand(
                    """
                    INSERT INTO catalog.ingestion_cursors (tenant_id, moved_at, created_at)
                    SELECT id, NULL, created_at FROM catalog.tenants WHERE id = $1
                    ON CONFLICT (tenant_id) DO NOTHING
                    """)
                {
                    Parameters = { new() { Value = id } },
                });
                await using var reader = await activate.ExecuteReaderAsync(cancellationToken);
                await reader.ReadAsync(cancellationToken);
                tenant = Read(reader);
            }

            // Announced with the commit, whatever the broker's state: every node drops what it cached of the id, and
            // the tenant's first ingestion run is queued.
            step = "events";
            await AnnounceChangeAsync(connection, transaction, id, cancellationToken);
            await outbox.AddAsync(connection, transaction, new TenantProvisioned(tenant.Id, tenant.SchemaVersion, tenant.UpdatedAt), cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            directory.Evict(id);
            return new ProvisionResult(ProvisionOutcome.Created, tenant, null);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation && step == "catalog")
        {
            // Another tenant id derived the same schema name: practically impossible, and never silently shared.
            return new ProvisionResult(ProvisionOutcome.Exists, null, "Another tenant already uses the schema derived from this id.");
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
        {
            // The admin reads the outcome; the cause (statement, SQLSTATE, step) is for the log only.
            logger.LogError(e, "Provisioning of tenant {TenantId} failed at step {Step}", id, step);
            const string reason = "Provisioning failed and was rolled back; the service log has the cause.";
            var marked = await RecordFailureAsync(id, name, schema, settingsJson, reason);
            return new ProvisionResult(ProvisionOutcome.Failed, marked ? await GetAsync(id, CancellationToken.None) : null, reason);
        }
    }

    public async Task<TenantResponse?> GetAsync(string id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {Columns} FROM catalog.tenants WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    public async Task<(List<TenantResponse> Items, bool More)> ListAsync(string? status, string? afterId, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            SELECT {Columns} FROM catalog.tenants
            WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR id > $2)
            ORDER BY id LIMIT $3
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)status ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)afterId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = limit + 1 });
        var items = new List<TenantResponse>(limit + 1);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(Read(reader));
        }

        return (items, PageRows.TrimExtra(items, limit));
    }

    /// <summary>Renames, suspends or resumes, and replaces settings. Only <c>active</c> ⇄ <c>suspended</c> are allowed moves.</summary>
    public async Task<(ChangeOutcome Outcome, TenantResponse? Tenant, string? Reason)> UpdateAsync(
        string id, string? name, string? status, string? settingsJson, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            $"""
            WITH current AS (SELECT id, status FROM catalog.tenants WHERE id = $1 FOR UPDATE)
            UPDATE catalog.tenants t SET
                name = COALESCE($2, t.name),
                status = COALESCE($3, t.status),
                settings = COALESCE($4::jsonb, t.settings),
                updated_at = now()
            FROM current
            WHERE t.id = current.id AND ($3::text IS NULL OR current.status IN ('active', 'suspended'))
            RETURNING {Columns.Replace("id, name, status", "t.id, t.name, t.status", StringComparison.Ordinal)}
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)name ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)status ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)settingsJson ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        TenantResponse? updated = null;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            if (await reader.ReadAsync(cancellationToken))
            {
                updated = Read(reader);
            }
        }

        if (updated is not null)
        {
            await AnnounceChangeAsync(connection, transaction, id, cancellationToken);
            if (string.Equals(status, TenantStatus.Active, StringComparison.Ordinal))
            {
                // Rows the fleet sweep left aside while the tenant was suspended are read by a run of its own.
                await ingestion.RequestAsync(connection, transaction, id, ResumedTrigger, cancellationToken);
            }
        }

        await transaction.CommitAsync(cancellationToken);

        directory.Evict(id);
        if (updated is not null)
        {
            return (ChangeOutcome.Done, updated, null);
        }

        var existing = await GetAsync(id, cancellationToken);
        return existing is null
            ? (ChangeOutcome.NotFound, null, null)
            : (ChangeOutcome.Conflict, existing, $"A tenant in status '{existing.Status}' cannot be suspended or resumed.");
    }

    /// <summary>
    /// Marks the tenant <c>deprovisioning</c> (its clients are refused from then on), then drops its schema and
    /// forgets it in one transaction, which frees the id. The audit log keeps the record.
    /// </summary>
    public async Task<ChangeOutcome> DeleteAsync(string id, CancellationToken cancellationToken)
    {
        string? schemaName = null;
        var store = TenantStoreSettings.Main;
        await using (var catalog = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var marking = await catalog.BeginTransactionAsync(cancellationToken))
        {
            await using (var mark = new NpgsqlCommand(
                "UPDATE catalog.tenants SET status = 'deprovisioning', updated_at = now() WHERE id = $1 RETURNING schema_name, store", catalog, marking))
            {
                mark.Parameters.Add(new NpgsqlParameter { Value = id });
                await using var marked = await mark.ExecuteReaderAsync(cancellationToken);
                if (await marked.ReadAsync(cancellationToken))
                {
                    (schemaName, store) = (marked.GetString(0), marked.GetString(1));
                }
            }

            if (schemaName is not null)
            {
                await AnnounceChangeAsync(catalog, marking, id, cancellationToken);
            }

            await marking.CommitAsync(cancellationToken);
        }

        directory.Evict(id);
        if (schemaName is null)
        {
            return ChangeOutcome.NotFound;
        }

        var schema = SchemaName.Parse(schemaName);
        await using var connection = await connections.For(store, schema).OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // A store counts the tenants that have a schema on it: not one whose provisioning failed.
        bool hadSchema;
        await using (var exists = new NpgsqlCommand("SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)", connection, transaction))
        {
            exists.Parameters.Add(new NpgsqlParameter { Value = schema.Value });
            hadSchema = (bool)(await exists.ExecuteScalarAsync(cancellationToken))!;
        }

        await using (var drop = new NpgsqlBatch(connection, transaction))
        {
            drop.BatchCommands.Add(new NpgsqlBatchCommand($"DROP SCHEMA IF EXISTS {schema.Quoted} CASCADE"));
            drop.BatchCommands.Add(new NpgsqlBatchCommand("DELETE FROM catalog.tenant_schema_migrations WHERE schema_name = $1")
            {
                Parameters = { new() { Value = schema.Value } },
            });
            drop.BatchCommands.Add(new NpgsqlBatchCommand("DELETE FROM catalog.ingestion_cursors WHERE tenant_id = $1")
            {
                Parameters = { new() { Value = id } },
            });
            drop.BatchCommands.Add(new NpgsqlBatchCommand("DELETE FROM catalog.ingestion_runs WHERE tenant_id = $1")
            {
                Parameters = { new() { Value = id } },
            });
            drop.BatchCommands.Add(new NpgsqlBatchCommand("DELETE FROM catalog.queue_ack_days WHERE tenant_id = $1")
            {
                Parameters = { new() { Value = id } },
            });
            drop.BatchCommands.Add(new NpgsqlBatchCommand("DELETE FROM catalog.tenants WHERE id = $1")
            {
                Parameters = { new() { Value = id } },
            });
            if (hadSchema)
            {
                drop.BatchCommands.Add(new NpgsqlBatchCommand("UPDATE catalog.stores SET tenants = tenants - 1 WHERE name = $1")
                {
                    Parameters = { new() { Value = store } },
                });
            }
            await drop.ExecuteNonQueryAsync(cancellationToken);
        }

        await AnnounceChangeAsync(connection, transaction, id, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        directory.Evict(id);
        return ChangeOutcome.Done;
    }

    /// <summary>
    /// At the commit of <paramref name="transaction"/>, every node forgets what it cached of the tenant: at once through
    /// PostgreSQL's notification, and through the bus's <see cref="TenantChanged"/> from the outbox.
    /// </summary>
    private async Task AnnounceChangeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string id, CancellationToken cancellationToken)
    {
        await outbox.AddAsync(connection, transaction, new TenantChanged(id), cancellationToken);
        await TenantDirectory.NotifyChangedAsync(connection, transaction, id, cancellationToken);
    }

    /// <summary>Records an admin action; the audit outlives the tenant.</summary>
    public async Task AuditAsync(string subject, string action, string? tenantId, string outcome, string? detail)
    {
        try
        {
            await using var batch = dataSource.CreateBatch();
            batch.BatchCommands.Add(AuditCommand(subject, action, tenantId, outcome, detail));
            await batch.ExecuteNonQueryAsync(CancellationToken.None);
        }
        catch (NpgsqlException e)
        {
            logger.LogError(e, "Could not write the audit record of {Action} on {TenantId} by {Subject}", action, tenantId, subject);
        }
    }

    private static NpgsqlBatchCommand AuditCommand(string subject, string action, string? tenantId, string outcome, string? detail) =>
        new("INSERT INTO catalog.audit_log (subject, action, tenant_id, outcome, detail) VALUES ($1, $2, $3, $4, $5)")
        {
            Parameters =
            {
                new() { Value = subject },
                new() { Value = action },
                new() { Value = (object?)tenantId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
                new() { Value = outcome },
                new() { Value = (object?)detail ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
            },
        };

    /// <summary>Records the tenant as <c>failed</c>; false when that could not be recorded.</summary>
    private async Task<bool> RecordFailureAsync(string id, string name, SchemaName schema, string settingsJson, string reason)
    {
        try
        {
            await using var command = dataSource.CreateCommand(
                """
                INSERT INTO catalog.tenants (id, name, status, status_reason, schema_name, settings)
                VALUES ($1, $2, 'failed', $3, $4, $5::jsonb)
                ON CONFLICT (id) DO UPDATE SET status = 'failed', status_reason = EXCLUDED.status_reason, updated_at = now()
                    WHERE catalog.tenants.status IN ('failed', 'provisioning')
                """);
            command.Parameters.Add(new NpgsqlParameter { Value = id });
            command.Parameters.Add(new NpgsqlParameter { Value = name });
            command.Parameters.Add(new NpgsqlParameter { Value = reason });
            command.Parameters.Add(new NpgsqlParameter { Value = schema.Value });
            command.Parameters.Add(new NpgsqlParameter { Value = settingsJson });
            return await command.ExecuteNonQueryAsync(CancellationToken.None) > 0;
        }
        catch (NpgsqlException e)
        {
            logger.LogError(e, "Could not record the failed provisioning of tenant {TenantId}", id);
            return false;
        }
    }

    private static TenantResponse Read(NpgsqlDataReader reader)
    {
        using var settings = JsonDocument.Parse(reader.GetString(7));
        return new TenantResponse(
            reader.GetString(0),
            reader.GetString(1),
            reader.GetString(2),
            reader.IsDBNull(3) ? null : reader.GetString(3),
            reader.GetInt32(4),
            reader.GetFieldValue<DateTimeOffset>(5),
            reader.GetFieldValue<DateTimeOffset>(6),
            settings.RootElement.Clone(),
            reader.GetString(8));
    }
}
