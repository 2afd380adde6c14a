using System.Collections.Concurrent;
using Insights.Audit;
using Insights.Messaging;
using Microsoft.EntityFrameworkCore;

namespace Insights.Tenancy;

/// <summary>
/// Moves a tenant's schema to another store while its clients keep working: the models copied with its ingestion held,
/// then a switch with its writes held (the queue and cursor copied, the catalog switched), then the old copy dropped.
/// Each step is one transaction on one database. A failure before the catalog switch undoes the move; one left by a
/// dead node is completed or undone by the next node to start (docs/decisions/0020-tenant-stores-and-online-moves.md).
/// </summary>
public sealed class TenantMover(
    CatalogDatabase catalog,
    CatalogContexts catalogContexts,
    TenantDatabases connections,
    TenantMigrator migrator,
    TenantDirectory directory,
    Outbox outbox,
    ServiceDefaults.InsightsMetrics metrics,
    IEnumerable<ITenantLifecycle> participants,
    IHostApplicationLifetime lifetime,
    ILogger<TenantMover> logger) : IHostedService
{
    /// <summary>First key of the per-tenant advisory lock a move holds while it runs ("tmov").</summary>
    private const int MoveLockNamespace = 0x746D6F76;

    private readonly ConcurrentDictionary<Guid, Task> running = new();

    /// <summary>Records a move and starts it on this node; the reason when it cannot be made.</summary>
    public async Task<(MoveOutcome Outcome, TenantMoveResponse? Move, string? Reason)> RequestAsync(
        string tenantId, string store, string subject, CancellationToken cancellationToken)
    {
        await using var context = await catalogContexts.CreateAsync(cancellationToken);
        var tenant = await context.Set<TenantRow>().AsNoTracking()
            .Where(t => t.Id == tenantId)
            .Select(t => new { t.Store, t.Status, t.SchemaVersion })
            .SingleOrDefaultAsync(cancellationToken);
        if (tenant is null)
        {
            return (MoveOutcome.NotFound, null, null);
        }

        var (from, status, version) = (tenant.Store, tenant.Status, tenant.SchemaVersion);
        var reason = (from, status, version) switch
        {
            _ when from == store => $"Tenant '{tenantId}' is on store '{store}' already.",
            _ when status is not (TenantStatus.Active or TenantStatus.Suspended) => $"A tenant in status '{status}' cannot be moved.",
            _ when version != migrator.LatestVersion => "The tenant's schema is behind the latest tenant migration: apply it first (POST /api/v1/tenant-migrations).",
            _ when !connections.HasStore(from) => $"The tenant's store '{from}' is not among this node's stores.",
            _ => null,
        };
        if (reason is not null)
        {
            return (MoveOutcome.Conflict, null, reason);
        }

        var row = new TenantMoveRow
        {
            Id = Guid.CreateVersion7(),
            TenantId = tenantId,
            FromStore = from,
            ToStore = store,
            Status = "queued",
            RequestedBy = subject,
        };
        context.Set<TenantMoveRow>().Add(row);
        try
        {
            await context.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException e) when (e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
        {
            return (MoveOutcome.Conflict, null, $"A move of tenant '{tenantId}' is under way.");
        }

        var move = Response(row);
        var task = Task.Run(() => ExecuteAsync(move, lifetime.ApplicationStopping), CancellationToken.None);
        running[move.Id] = task;
        _ = task.ContinueWith(_ => running.TryRemove(move.Id, out Task? _), TaskScheduler.Default);
        return (MoveOutcome.Started, move, null);
    }

    public async Task<TenantMoveResponse?> GetAsync(string tenantId, Guid moveId, CancellationToken cancellationToken)
    {
        await using var context = await catalogContexts.CreateAsync(cancellationToken);
        var row = await context.Set<TenantMoveRow>().AsNoTracking().SingleOrDefaultAsync(m => m.Id == moveId && m.TenantId == tenantId, cancellationToken);
        return row is null ? null : Response(row);
    }

    private static TenantMoveResponse Response(TenantMoveRow row) => new(
        row.Id, row.TenantId, row.FromStore, row.ToStore, row.Status, row.RequestedBy, row.RequestedAt, row.StartedAt, row.SwitchedAt, row.FinishedAt,
        row.ModelsCopied, row.MessagesCopied, row.SwitchMs, row.Error);

    private async Task ExecuteAsync(TenantMoveResponse move, CancellationToken cancellationToken)
    {
        var schema = SchemaName.ForTenant(move.TenantId);
        await using var locks = await catalog.OpenConnectionAsync(CancellationToken.None);
        var switched = false;
        var parked = Parked(move.Id);
        try
        {
            // Both held for the whole move: this one tells a starting node the move is alive; the run lock keeps
            // ingestion off, so the models cannot change while they are copied.
            await TenantLocks.LockAsync(locks, MoveLockNamespace, move.TenantId, cancellationToken);
            await UpdateAsync(move.Id, "UPDATE catalog.tenant_moves SET status = 'copying', started_at = now() WHERE id = $1", cancellationToken);
            await TenantLocks.LockAsync(locks, TenantLocks.Ingestion, move.TenantId, cancellationToken);

            var models = await CopyModelsAsync(move, schema, cancellationToken);
            await UpdateAsync(move.Id, "UPDATE catalog.tenant_moves SET status = 'switching', models_copied = $2 WHERE id = $1", cancellationToken, models);

            var watch = Stopwatch.StartNew();
            var messages = await SwitchStoresAsync(move, schema, parked, cancellationToken);
            switched = await SwitchCatalogAsync(move, parked, watch, messages, cancellationToken);
            var held = watch.Elapsed;
            if (!switched)
            {
                return;
            }

            directory.Evict(move.TenantId);
            await DropAsync(move.From, schema, parked, CancellationToken.None);
            await FinishAsync(move, "succeeded", null, held);
        }
        catch (Exception e) when (!switched && e is NpgsqlException or InvalidOperationException or OperationCanceledException or IOException)
        {
            logger.LogError(e, "Move {MoveId} of tenant {TenantId} from {From} to {To} failed", move.Id, move.TenantId, move.From, move.To);
            await UndoAsync(move, schema, parked);
            await FinishAsync(move, "failed", e is OperationCanceledException
                ? "The node stopped during the move; the tenant stayed on its store."
                : "The move failed and was undone; the tenant stayed on its store. The service log has the cause.");
        }
        catch (Exception e) when (switched && e is NpgsqlException or InvalidOperationException or OperationCanceledException or IOException)
        {
            // Served from its new store already: only the old copy's removal is left, to the next node that starts.
            logger.LogError(e, "Move {MoveId} of tenant {TenantId}: the old copy on {From} is left to remove", move.Id, move.TenantId, move.From);
        }
        finally
        {
            await UnlockAllAsync(locks);
        }
    }

    /// <summary>The schema on the new store, from the baseline, with every model, in one transaction.</summary>
    private async Task<long> CopyModelsAsync(TenantMoveResponse move, SchemaName schema, CancellationToken cancellationToken)
    {
        var to = connections.For(move.To, schema);
        await using var target = await to.OpenConnectionAsync(cancellationToken);
        await using var transaction = await target.BeginTransactionAsync(cancellationToken);
        await ClearAsync(to, target, transaction, cancellationToken);
        await migrator.MigrateAsync(to, target, transaction, createSchema: true, cancellationToken);
        var from = connections.For(move.From, schema);
        await using (var source = await from.OpenConnectionAsync(cancellationToken))
        {
            foreach (var table in Tables.Where(t => !t.CopiedAtSwitch))
            {
                await CopyTableAsync(source, from, target, to, table.Name, cancellationToken);
            }
        }

        var count = await CountAsync(target, transaction, to, Tables.Where(t => !t.CopiedAtSwitch), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return count;
    }

    /// <summary>
    /// The switch on the stores: the tenant's writes held on the old one, the queue and the cursor copied and committed
    /// on the new one, then the old schema set aside, which ends the held writes (503). Returns the messages copied.
    /// </summary>
    private async Task<long> SwitchStoresAsync(TenantMoveResponse move, SchemaName schema, string parked, CancellationToken cancellationToken)
    {
        var from = connections.For(move.From, schema);
        var to = connections.For(move.To, schema);
        await using var source = await from.OpenConnectionAsync(cancellationToken);
        await using var held = await source.BeginTransactionAsync(cancellationToken);
        await using (var hold = new NpgsqlCommand(
            $"SET LOCAL lock_timeout = '30s'; LOCK TABLE {string.Join(", ", Tables.OrderBy(t => t.CopiedAtSwitch).Select(t => from.Table(t.Name)))} IN EXCLUSIVE MODE", source, held))
        {
            await hold.ExecuteNonQueryAsync(cancellationToken);
        }

        long messages;
        await using (var target = await to.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await target.BeginTransactionAsync(cancellationToken))
        {
            foreach (var table in Tables.Where(t => t.CopiedAtSwitch))
            {
                await CopyTableAsync(source, from, target, to, table.Name, cancellationToken);
                if (table.SerialColumn is { } serial)
                {
                    await using var sequence = new NpgsqlCommand(
                        $"SELECT setval(pg_get_serial_sequence($1, '{serial}'), coalesce((SELECT max({serial}) FROM {to.Table(table.Name)}), 0) + 1, false)",
                        target, transaction);
                    sequence.Parameters.Add(new NpgsqlParameter { Value = to.Table(table.Name) });
                    await sequence.ExecuteNonQueryAsync(cancellationToken);
                }
            }

            messages = await CountAsync(target, transaction, to, Tables.Where(t => t.CopiedAtSwitch), cancellationToken);
            foreach (var participant in participants)
            {
                await participant.SwitchingStoresAsync(source, held, target, transaction, schema, cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }

        await using (var park = new NpgsqlCommand(from.ParkSchemaSql(parked), source, held))
        {
            await park.ExecuteNonQueryAsync(cancellationToken);
        }

        await held.CommitAsync(cancellationToken);
        return messages;
    }

    /// <summary>The catalog names the new store and announces it; false, the move undone, when that failed.</summary>
    private async Task<bool> SwitchCatalogAsync(TenantMoveResponse move, string parked, Stopwatch watch, long messages, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await catalog.OpenConnectionAsync(CancellationToken.None);
            await using var transaction = await connection.BeginTransactionAsync(CancellationToken.None);
            await using (var batch = new NpgsqlBatch(connection, transaction))
            {
                batch.BatchCommands.Add(new NpgsqlBatchCommand("UPDATE catalog.tenants SET store = $2, updated_at = now() WHERE id = $1 AND store = $3")
                {
                    Parameters = { new() { Value = move.TenantId }, new() { Value = move.To }, new() { Value = move.From } },
                });
                batch.BatchCommands.Add(StoreCatalog.CountMoved(move.From, move.To));
                batch.BatchCommands.Add(new NpgsqlBatchCommand(
                    "UPDATE catalog.tenant_moves SET switched_at = now(), messages_copied = $2, switch_ms = $3 WHERE id = $1")
                {
                    Parameters = { new() { Value = move.Id }, new() { Value = messages }, new() { Value = watch.Elapsed.TotalMilliseconds } },
                });
                batch.BatchCommands.Add(AuditCommand(move, "succeeded"));
                await batch.ExecuteNonQueryAsync(CancellationToken.None);
            }

            await outbox.AddAsync(connection, transaction, new TenantChanged(move.TenantId), CancellationToken.None);
            await TenantDirectory.NotifyChangedAsync(connection, transaction, move.TenantId, CancellationToken.None);
            await transaction.CommitAsync(CancellationToken.None);
            return true;
        }
        catch (NpgsqlException e)
        {
            logger.LogError(e, "Move {MoveId} of tenant {TenantId}: the catalog could not be switched; undoing", move.Id, move.TenantId);
            await UndoAsync(move, SchemaName.ForTenant(move.TenantId), parked);
            await FinishAsync(move, "failed", "The catalog could not be switched; the move was undone and the tenant stayed on its store.");
            return false;
        }
    }

    /// <summary>The tenant back as it was on its old store, and no copy of it on the new one.</summary>
    private async Task UndoAsync(TenantMoveResponse move, SchemaName schema, string parked)
    {
        try
        {
            var from = connections.For(move.From, schema);
            await using (var source = from.CreateCommand(from.UnparkSchemaSql(parked)))
            {
                await source.ExecuteNonQueryAsync(CancellationToken.None);
            }

            var to = connections.For(move.To, schema);
            await using var target = await to.OpenConnectionAsync(CancellationToken.None);
            await using var transaction = await target.BeginTransactionAsync(CancellationToken.None);
            await ClearAsync(to, target, transaction, CancellationToken.None);
            await transaction.CommitAsync(CancellationToken.None);
        }
        catch (NpgsqlException e)
        {
            logger.LogError(e, "Move {MoveId} of tenant {TenantId}: undoing it failed; the next node to start tries again", move.Id, move.TenantId);
            throw;
        }
    }

    /// <summary>Removes the old copy: the set-aside schema and what the old store kept about it.</summary>
    private async Task DropAsync(string store, SchemaName schema, string parked, CancellationToken cancellationToken)
    {
        await using var connection = await connections.For(store, schema).OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {parked} CASCADE", connection, transaction))
        {
            await drop.ExecuteNonQueryAsync(cancellationToken);
        }

        await ForgetAsync(connection, transaction, schema, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>A store without the tenant: its schema dropped and its journal and cursor rows deleted.</summary>
    private async Task ClearAsync(TenantDatabase database, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await using (var drop = new NpgsqlCommand(database.DropSchemaSql, connection, transaction))
        {
            await drop.ExecuteNonQueryAsync(cancellationToken);
        }

        await ForgetAsync(connection, transaction, database.Schema, cancellationToken);
    }

    private async Task ForgetAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, SchemaName schema, CancellationToken cancellationToken)
    {
        await using var forget = new NpgsqlBatch(connection, transaction);
        TenantCatalog.ForgetSchema(forget, schema, participants);
        await forget.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>One table's rows from one server to the other in binary COPY format, identities included.</summary>
    private static async Task CopyTableAsync(
        NpgsqlConnection source, TenantDatabase from, NpgsqlConnection target, TenantDatabase to, string table, CancellationToken cancellationToken)
    {
        await using var reading = await source.BeginRawBinaryCopyAsync($"COPY {from.Table(table)} TO STDOUT (FORMAT BINARY)", cancellationToken);
        await using var writing = await target.BeginRawBinaryCopyAsync($"COPY {to.Table(table)} FROM STDIN (FORMAT BINARY)", cancellationToken);
        await reading.CopyToAsync(writing, cancellationToken);
    }

    /// <summary>The rows of <paramref name="tables"/> on <paramref name="database"/>, all together.</summary>
    private static async Task<long> CountAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, TenantDatabase database, IEnumerable<TenantTable> tables, CancellationToken cancellationToken)
    {
        var counts = tables.Select(t => $"(SELECT count(*) FROM {database.Table(t.Name)})").DefaultIfEmpty("0");
        await using var command = new NpgsqlCommand("SELECT " + string.Join(" + ", counts), connection, transaction);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The tables of the tenant's schema, from the capabilities that own them.</summary>
    private IEnumerable<TenantTable> Tables => participants.SelectMany(p => p.Tables);

    private async Task FinishAsync(TenantMoveResponse move, string status, string? error, TimeSpan writesHeld = default)
    {
        metrics.TenantMoveFinished(status, writesHeld);
        try
        {
            await using var batch = catalog.CreateBatch();
            batch.BatchCommands.Add(new NpgsqlBatchCommand("UPDATE catalog.tenant_moves SET status = $2, error = $3, finished_at = now() WHERE id = $1")
            {
                Parameters = { new() { Value = move.Id }, new() { Value = status }, new() { Value = (object?)error ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text } },
            });
            if (status == "failed")
            {
                batch.BatchCommands.Add(AuditCommand(move, "failed"));
            }

            await batch.ExecuteNonQueryAsync(CancellationToken.None);
        }
        catch (NpgsqlException e)
        {
            logger.LogError(e, "Could not record the outcome of move {MoveId}", move.Id);
        }
    }

    private async Task UpdateAsync(Guid moveId, string sql, CancellationToken cancellationToken, long? count = null)
    {
        await using var command = catalog.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter { Value = moveId });
        if (count is { } value)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static NpgsqlBatchCommand AuditCommand(TenantMoveResponse move, string outcome) =>
        AuditTrail.Command(move.RequestedBy, "tenant.move", move.TenantId, outcome, $"{move.From} → {move.To} (move {move.Id})");

    /// <summary>Session locks outlive the connection's return to the pool: released explicitly.</summary>
    private static async Task UnlockAllAsync(NpgsqlConnection connection)
    {
        try
        {
            await using var command = new NpgsqlCommand("SELECT pg_advisory_unlock_all()", connection);
            await command.ExecuteNonQueryAsync(CancellationToken.None);
        }
        catch (NpgsqlException)
        {
            // A broken connection took its locks with it.
        }
    }

    /// <summary>The name the old schema is set aside under during the switch.</summary>
    private static string Parked(Guid moveId) => "moved_" + moveId.ToString("N");

    /// <summary>
    /// Moves whose node died: those under way that no node holds the lock of. Completed when the catalog names the new
    /// store (the old copy removed), undone otherwise. The work is per move under way, never per tenant.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            List<TenantMoveResponse> orphans;
            await using (var context = await catalogContexts.CreateAsync(cancellationToken))
            {
                orphans = [.. (await context.Set<TenantMoveRow>().AsNoTracking()
                    .Where(m => m.Status == "queued" || m.Status == "copying" || m.Status == "switching")
                    .ToListAsync(cancellationToken)).Select(Response)];
            }

            foreach (var move in orphans.Where(m => connections.HasStore(m.From) && connections.HasStore(m.To)))
            {
                await RecoverAsync(move, cancellationToken);
            }
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            logger.LogWarning(e, "Could not look for interrupted tenant moves at start");
        }
    }

    private async Task RecoverAsync(TenantMoveResponse move, CancellationToken cancellationToken)
    {
        await using var locks = await catalog.OpenConnectionAsync(cancellationToken);
        if (!await TenantLocks.TryLockAsync(locks, MoveLockNamespace, move.TenantId, cancellationToken))
        {
            return;
        }

        try
        {
            var schema = SchemaName.ForTenant(move.TenantId);
            await using var store = catalog.CreateCommand("SELECT store FROM catalog.tenants WHERE id = $1");
            store.Parameters.Add(new NpgsqlParameter { Value = move.TenantId });
            if ((string?)await store.ExecuteScalarAsync(cancellationToken) == move.To)
            {
                await DropAsync(move.From, schema, Parked(move.Id), cancellationToken);
                await FinishAsync(move, "succeeded", null);
            }
            else
            {
                await UndoAsync(move, schema, Parked(move.Id));
                await FinishAsync(move, "failed", "The node running the move stopped; the move was undone and the tenant stayed on its store.");
            }
        }
        finally
        {
            await UnlockAllAsync(locks);
        }
    }

    /// <summary>Moves under way stop with the host, each undone and recorded before it goes.</summary>
    public Task StopAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(running.Values).WaitAsync(cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
}
