using Insights.Audit;
using Insights.Messaging;
using Microsoft.EntityFrameworkCore;

namespace Insights.Tenancy;

/// <summary>
/// The catalog of tenants and everything that changes it: real-time provisioning, edits, deprovisioning.
/// </summary>
public sealed class TenantCatalog(
    CatalogDatabase dataSource,
    CatalogContexts catalogContexts,
    TenantDatabases connections,
    TenantMigrator migrator,
    TenantDirectory directory,
    Outbox outbox,
    IEnumerable<ITenantLifecycle> participants,
    ILogger<TenantCatalog> logger)
{
    private const string Columns = "id, name, status, status_reason, schema_version, created_at, updated_at, settings::text, store, xmin";

    /// <summary>First key of the per-tenant advisory locks of provisioning ("tprv").</summary>
    private const int ProvisionLockNamespace = 0x74707276;

    /// <summary>
    /// Provisions a tenant in three transactions, one database each, so none spans two servers: the catalog row
    /// (<c>provisioning</c>, placed on a store), the schema there, the row made <c>active</c>. Concurrent creates of
    /// one id wait on its lock and find it taken; after a failure (<c>failed</c>), creating it again resumes where it
    /// stopped (docs/decisions/0020-tenant-stores-and-online-moves.md).
    /// </summary>
    public async Task<ProvisionResult> ProvisionAsync(
        string id, string name, string settingsJson, string? requestedStore, AuditActor actor, CancellationToken cancellationToken)
    {
        var schema = SchemaName.ForTenant(id);
        // The catalog's steps run on the connection that holds the id's lock: one catalog connection per provisioning.
        await using var catalog = await dataSource.OpenConnectionAsync(cancellationToken);
        await TenantLocks.LockAsync(catalog, ProvisionLockNamespace, id, cancellationToken);

        var step = "catalog";
        try
        {
            var placed = await PlaceAsync(catalog, id, name, settingsJson, schema, requestedStore, cancellationToken);
            if (placed is null)
            {
                return new ProvisionResult(ProvisionOutcome.Exists, await GetAsync(id, cancellationToken), null);
            }

            var (store, previousStore) = placed.Value;
            step = "schema";
            if (previousStore is not null)
            {
                // An earlier attempt on another store may have left its schema there.
                await DropSchemaAsync(previousStore, schema, cancellationToken);
            }

            await BuildSchemaAsync(store, schema, cancellationToken);

            step = "activation";
            var tenant = await ActivateAsync(catalog, id, actor, cancellationToken);
            directory.Evict(id);
            return new ProvisionResult(ProvisionOutcome.Created, tenant, null);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation && step == "catalog")
        {
            // Another tenant id derived the same schema name: practically impossible, and never silently shared.
            return new ProvisionResult(ProvisionOutcome.Exists, null, "Another tenant already uses the schema derived from this id.");
        }
        catch (Exception e) when (e is NpgsqlException && ConnectionPoolGuard.IsUnavailable(e) && !cancellationToken.IsCancellationRequested)
        {
            // A database that cannot be reached or refuses connections: 503, as for any request that needs it; the
            // row left 'failed' (when the catalog takes it) lets the retry resume.
            logger.LogWarning("Provisioning of tenant {TenantId} stopped at step {Step}: a database is unavailable ({Reason})", id, step, e.Message);
            await RecordFailureAsync(id, "Provisioning stopped: a database could not be reached; POST it again to complete it.");
            throw;
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
        {
            // The admin reads the outcome; the cause (statement, SQLSTATE, step) is for the log only.
            logger.LogError(e, "Provisioning of tenant {TenantId} failed at step {Step}", id, step);
            var reason = step == "activation"
                ? "Provisioning failed after the schema was built; the service log has the cause."
                : "Provisioning failed and was rolled back; the service log has the cause.";
            var marked = await RecordFailureAsync(id, reason);
            return new ProvisionResult(ProvisionOutcome.Failed, marked ? await GetAsync(id, CancellationToken.None) : null, reason);
        }
        finally
        {
            await TenantLocks.UnlockAsync(catalog, ProvisionLockNamespace, id);
        }
    }

    /// <summary>
    /// Step 1: the catalog row, <c>provisioning</c>, counted on its store: the requested one, else a retried tenant's
    /// own, else the one this node names with fewest tenants (<c>PreviousStore</c>: the store a retry leaves). Null
    /// when the id is taken.
    /// </summary>
    private async Task<(string Store, string? PreviousStore)?> PlaceAsync(
        NpgsqlConnection catalog, string id, string name, string settingsJson, SchemaName schema, string? requestedStore, CancellationToken cancellationToken)
    {
        await using var transaction = await catalog.BeginTransactionAsync(cancellationToken);
        string? existingStore = null;
        await using (var find = new NpgsqlCommand("SELECT status, store FROM catalog.tenants WHERE id = $1 FOR UPDATE", catalog, transaction))
        {
            find.Parameters.Add(new NpgsqlParameter { Value = id });
            await using var reader = await find.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                // Under the id's lock, a row still 'provisioning' is an attempt that stopped midway.
                if (reader.GetString(0) is not (TenantStatus.Failed or TenantStatus.Provisioning))
                {
                    return null;
                }

                existingStore = reader.GetString(1);
            }
        }

        var store = requestedStore ?? existingStore;
        if (store is null)
        {
            // Fewest tenants first; the row lock orders concurrent placements on the same store.
            await using var least = new NpgsqlCommand(
                "SELECT name FROM catalog.stores WHERE name = ANY($1) ORDER BY tenants, name LIMIT 1 FOR UPDATE", catalog, transaction);
            least.Parameters.Add(new NpgsqlParameter { Value = connections.StoreNames.ToArray() });
            store = (string?)await least.ExecuteScalarAsync(cancellationToken) ?? TenantStoreSettings.Main;
        }

        await using (var upsert = new NpgsqlBatch(catalog, transaction))
        {
            upsert.BatchCommands.Add(new NpgsqlBatchCommand(
                """
                INSERT INTO catalog.tenants (id, name, status, schema_name, settings, store)
                VALUES ($1, $2, 'provisioning', $3, $4::jsonb, $5)
                ON CONFLICT (id) DO UPDATE
                    SET name = EXCLUDED.name, settings = EXCLUDED.settings, store = EXCLUDED.store, status = 'provisioning', status_reason = NULL,
                        updated_at = now()
                """)
            {
                Parameters =
                {
                    new() { Value = id }, new() { Value = name }, new() { Value = schema.Value }, new() { Value = settingsJson }, new() { Value = store },
                },
            });

            // A store counts the catalog's tenants placed on it, which placement reads.
            if (existingStore != store)
            {
                upsert.BatchCommands.Add(StoreCatalog.CountMoved(existingStore, store));
            }

            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return (store, existingStore is not null && existingStore != store ? existingStore : null);
    }

    /// <summary>
    /// Step 2, on the tenant's store only: its schema from the baseline with its journal, in one transaction. A schema
    /// an earlier attempt committed is kept and only brought up to date.
    /// </summary>
    private async Task BuildSchemaAsync(string store, SchemaName schema, CancellationToken cancellationToken)
    {
        var database = connections.For(store, schema);
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        bool exists;
        await using (var find = new NpgsqlCommand("SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)", connection, transaction))
        {
            find.Parameters.Add(new NpgsqlParameter { Value = schema.Value });
            exists = (bool)(await find.ExecuteScalarAsync(cancellationToken))!;
        }

        await migrator.MigrateAsync(database, connection, transaction, createSchema: !exists, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Step 3, in the catalog: the tenant made active, audited, listed, announced.</summary>
    private async Task<TenantResponse> ActivateAsync(NpgsqlConnection catalog, string id, AuditActor actor, CancellationToken cancellationToken)
    {
        await using var transaction = await catalog.BeginTransactionAsync(cancellationToken);
        TenantResponse tenant;
        await using (var activate = new NpgsqlBatch(catalog, transaction))
        {
            activate.BatchCommands.Add(new NpgsqlBatchCommand(
                $"UPDATE catalog.tenants SET status = 'active', schema_version = $2, updated_at = now() WHERE id = $1 RETURNING {Columns}")
            {
                Parameters = { new() { Value = id }, new() { Value = migrator.LatestVersion } },
            });

            // What the other capabilities keep of a tenant starts with it, in the same round trip.
            foreach (var participant in participants)
            {
                participant.Activating(activate, id);
            }

            await using var reader = await activate.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            tenant = Read(reader);
        }

        // The audit record goes through the catalog's context on this transaction: one commit (one WAL flush) for both,
        // and no tenant without its record.
        await using (var context = await catalogContexts.OnAsync(catalog, transaction, cancellationToken))
        {
            AuditTrail.Add(context, actor, "tenant.provision", id, "succeeded");
            await context.SaveChangesAsync(cancellationToken);
        }

        // Announced with the commit, whatever the broker's state: every node drops what it cached of the id, and the
        // tenant's first ingestion run is queued.
        await AnnounceChangeAsync(catalog, transaction, id, cancellationToken);
        await outbox.AddAsync(catalog, transaction, new TenantProvisioned(tenant.Id, tenant.SchemaVersion, tenant.UpdatedAt), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return tenant;
    }

    /// <summary>Drops a tenant's schema and what its store keeps about it, on that store only.</summary>
    private async Task DropSchemaAsync(string store, SchemaName schema, CancellationToken cancellationToken)
    {
        var database = connections.For(store, schema);
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var drop = new NpgsqlBatch(connection, transaction))
        {
            drop.BatchCommands.Add(new NpgsqlBatchCommand(database.DropSchemaSql));
            ForgetSchema(drop, schema, participants);
            await drop.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Adds to <paramref name="store"/> the commands that forget a schema the store no longer holds.</summary>
    internal static void ForgetSchema(NpgsqlBatch store, SchemaName schema, IEnumerable<ITenantLifecycle> participants)
    {
        store.BatchCommands.Add(new NpgsqlBatchCommand("DELETE FROM insights_store.tenant_schema_migrations WHERE schema_name = $1")
        {
            Parameters = { new() { Value = schema.Value } },
        });
        foreach (var participant in participants)
        {
            participant.DroppingSchema(store, schema);
        }
    }

    public async Task<TenantResponse?> GetAsync(string id, CancellationToken cancellationToken)
    {
        await using var context = await catalogContexts.CreateAsync(cancellationToken);
        var row = await context.Set<TenantRow>().AsNoTracking().SingleOrDefaultAsync(t => t.Id == id, cancellationToken);
        return row is null ? null : Response(row);
    }

    public async Task<(List<TenantResponse> Items, bool More)> ListAsync(string? status, string? afterId, int limit, CancellationToken cancellationToken)
    {
        await using var context = await catalogContexts.CreateAsync(cancellationToken);
        var query = context.Set<TenantRow>().AsNoTracking();
        if (status is not null)
        {
            query = query.Where(t => t.Status == status);
        }

        if (afterId is not null)
        {
            // Ids compare as the primary key's index orders them.
            query = query.Where(t => string.Compare(t.Id, afterId) > 0);
        }

        var items = (await query.OrderBy(t => t.Id).Take(limit + 1).ToListAsync(cancellationToken)).Select(Response).ToList();
        return (items, PageRows.TrimExtra(items, limit));
    }

    /// <summary>Renames, replaces settings, suspends or resumes (only <c>active</c> ⇄ <c>suspended</c>).</summary>
    public async Task<(ChangeOutcome Outcome, TenantResponse? Tenant, string? Reason)> UpdateAsync(
        string id, string? name, string? status, string? settingsJson, string[]? ifMatch, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            $"""
            WITH current AS (SELECT id, status, xmin::text AS version FROM catalog.tenants WHERE id = $1 FOR UPDATE)
            UPDATE catalog.tenants t SET
                name = COALESCE($2, t.name),
                status = COALESCE($3, t.status),
                settings = COALESCE($4::jsonb, t.settings),
                updated_at = now()
            FROM current
            WHERE t.id = current.id AND ($3::text IS NULL OR current.status IN ('active', 'suspended'))
                AND ($5::text[] IS NULL OR current.version = ANY($5::text[]))
            RETURNING {Columns.Replace("id, name, status", "t.id, t.name, t.status", StringComparison.Ordinal).Replace("xmin", "t.xmin", StringComparison.Ordinal)}
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)name ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)status ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)settingsJson ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)ifMatch ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
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
                foreach (var participant in participants)
                {
                    await participant.ResumingAsync(connection, transaction, id, cancellationToken);
                }
            }
        }

        await transaction.CommitAsync(cancellationToken);

        directory.Evict(id);
        if (updated is not null)
        {
            return (ChangeOutcome.Done, updated, null);
        }

        var existing = await GetAsync(id, cancellationToken);
        if (existing is null)
        {
            return (ChangeOutcome.NotFound, null, null);
        }

        return ifMatch is not null && !ifMatch.Contains(existing.Version.ToString(CultureInfo.InvariantCulture))
            ? (ChangeOutcome.Stale, existing, null)
            : (ChangeOutcome.Conflict, existing, $"A tenant in status '{existing.Status}' cannot be suspended or resumed.");
    }

    /// <summary>
    /// Marks the tenant <c>deprovisioning</c> (its clients refused from then on), drops its schema on its store, then
    /// forgets it in the catalog, freeing the id; deleting again finishes an interrupted deletion. The audit log stays.
    /// <see cref="ChangeOutcome.Conflict"/> while a move of the tenant is under way.
    /// </summary>
    public async Task<ChangeOutcome> DeleteAsync(string id, string[]? ifMatch, CancellationToken cancellationToken)
    {
        string? schemaName = null;
        var store = TenantStoreSettings.Main;
        await using var catalog = await dataSource.OpenConnectionAsync(cancellationToken);
        await using (var marking = await catalog.BeginTransactionAsync(cancellationToken))
        {
            // Not during a move: it would leave a copy of the schema on the store it moves to.
            await using (var moving = new NpgsqlCommand(
                "SELECT EXISTS (SELECT FROM catalog.tenant_moves WHERE tenant_id = $1 AND status IN ('queued', 'copying', 'switching'))", catalog, marking))
            {
                moving.Parameters.Add(new NpgsqlParameter { Value = id });
                if ((bool)(await moving.ExecuteScalarAsync(cancellationToken))!)
                {
                    return ChangeOutcome.Conflict;
                }
            }

            await using (var mark = new NpgsqlCommand(
                "UPDATE catalog.tenants SET status = 'deprovisioning', updated_at = now() WHERE id = $1 AND ($2::text[] IS NULL OR xmin::text = ANY($2)) RETURNING schema_name, store",
                catalog,
                marking))
            {
                mark.Parameters.Add(new NpgsqlParameter { Value = id });
                mark.Parameters.Add(new NpgsqlParameter { Value = (object?)ifMatch ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
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
            return ifMatch is not null && await GetAsync(id, cancellationToken) is not null ? ChangeOutcome.Stale : ChangeOutcome.NotFound;
        }

        await DropSchemaAsync(store, SchemaName.Parse(schemaName), cancellationToken);

        await using var transaction = await catalog.BeginTransactionAsync(cancellationToken);
        await using (var forget = new NpgsqlBatch(catalog, transaction))
        {
            foreach (var participant in participants)
            {
                participant.Forgetting(forget, id);
            }

            foreach (var sql in (string[])[
                "UPDATE catalog.stores s SET tenants = tenants - 1 FROM catalog.tenants t WHERE t.id = $1 AND s.name = t.store",
                "DELETE FROM catalog.tenants WHERE id = $1"])
            {
                forget.BatchCommands.Add(new NpgsqlBatchCommand(sql) { Parameters = { new() { Value = id } } });
            }

            await forget.ExecuteNonQueryAsync(cancellationToken);
        }

        await AnnounceChangeAsync(catalog, transaction, id, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        directory.Evict(id);
        return ChangeOutcome.Done;
    }

    /// <summary>
    /// At the commit of <paramref name="transaction"/>, every node drops its entry of the tenant: at once through
    /// PostgreSQL's notification, and through the bus's <see cref="TenantChanged"/> from the outbox.
    /// </summary>
    private async Task AnnounceChangeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string id, CancellationToken cancellationToken)
    {
        await outbox.AddAsync(connection, transaction, new TenantChanged(id), cancellationToken);
        await TenantDirectory.NotifyChangedAsync(connection, transaction, id, cancellationToken);
    }

    /// <summary>Marks the tenant <c>failed</c>; false when that failed too, or it has no row yet.</summary>
    private async Task<bool> RecordFailureAsync(string id, string reason)
    {
        try
        {
            await using var command = dataSource.CreateCommand(
                "UPDATE catalog.tenants SET status = 'failed', status_reason = $2, updated_at = now() WHERE id = $1 AND status IN ('failed', 'provisioning')");
            command.Parameters.Add(new NpgsqlParameter { Value = id });
            command.Parameters.Add(new NpgsqlParameter { Value = reason });
            return await command.ExecuteNonQueryAsync(CancellationToken.None) > 0;
        }
        catch (NpgsqlException e)
        {
            logger.LogError(e, "Could not record the failed provisioning of tenant {TenantId}", id);
            return false;
        }
    }

    private static TenantResponse Response(TenantRow row)
    {
        using var settings = JsonDocument.Parse(row.Settings);
        return new TenantResponse(
            row.Id, row.Name, row.Status, row.StatusReason, row.SchemaVersion, row.CreatedAt, row.UpdatedAt, settings.RootElement.Clone(), row.Store, row.Version);
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
            reader.GetString(8),
            reader.GetFieldValue<uint>(9));
    }
}
