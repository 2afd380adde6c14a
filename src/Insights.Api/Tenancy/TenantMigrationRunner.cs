namespace Insights.Tenancy;

/// <summary>
/// Brings every tenant schema to the latest tenant migration. One tenant's failure is recorded and the others go on.
/// A session advisory lock lets one run at a time proceed across all instances; each schema is also locked on its own
/// by <see cref="TenantMigrator"/>, so even concurrent runs never apply a script twice.
/// </summary>
public sealed class TenantMigrationRunner(TenantDatabases connections, TenantMigrator migrator, TenantDirectory? directory, ILogger<TenantMigrationRunner> logger)
{
    private const long RunLockKey = 0x696E73_746D7275L;
    private const int Parallelism = 4;

    private const string RunColumns = "id, status, requested_by, started_at, finished_at, total, succeeded, failed, failures::text";

    private readonly CatalogDatabase dataSource = connections.Catalog;

    /// <summary>Starts a run in the background and returns it, or the run already going on any instance.</summary>
    public async Task<TenantMigrationRun> StartAsync(string requestedBy, CancellationToken stopping)
    {
        var lockConnection = await dataSource.OpenConnectionAsync(stopping);
        try
        {
            if (!await TryLockAsync(lockConnection, stopping))
            {
                await lockConnection.DisposeAsync();
                return (await ReadLastRunAsync(CancellationToken.None))!;
            }

            var run = await CreateRunAsync(requestedBy, stopping);
            _ = Task.Run(async () =>
            {
                await using (lockConnection)
                {
                    try
                    {
                        await ExecuteAsync(run.Id, progress: null, stopping);
                    }
                    finally
                    {
                        await UnlockAsync(lockConnection);
                    }
                }
            }, CancellationToken.None);
            return run;
        }
        catch
        {
            await lockConnection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs to the end in the caller (the CLI verb), reporting progress.</summary>
    public async Task<TenantMigrationRun> RunAsync(string requestedBy, IProgress<MigrationProgress>? progress, CancellationToken cancellationToken)
    {
        await using var lockConnection = await dataSource.OpenConnectionAsync(cancellationToken);
        while (!await TryLockAsync(lockConnection, cancellationToken))
        {
            logger.LogInformation("Another instance is migrating tenants; waiting for it");
            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        }

        try
        {
            var run = await CreateRunAsync(requestedBy, cancellationToken);
            await ExecuteAsync(run.Id, progress, cancellationToken);
            return (await ReadRunAsync(run.Id, CancellationToken.None))!;
        }
        finally
        {
            await UnlockAsync(lockConnection);
        }
    }

    public async Task<TenantMigrationStatus> ReadStatusAsync(CancellationToken cancellationToken)
    {
        await using var behind = dataSource.CreateCommand(
            "SELECT count(*) FROM catalog.tenants WHERE status IN ('active', 'suspended') AND schema_version < $1");
        behind.Parameters.Add(new NpgsqlParameter { Value = migrator.LatestVersion });
        var count = (long)(await behind.ExecuteScalarAsync(cancellationToken))!;
        return new TenantMigrationStatus(migrator.LatestVersion, (int)count, await ReadLastRunAsync(cancellationToken));
    }

    private async Task ExecuteAsync(Guid runId, IProgress<MigrationProgress>? progress, CancellationToken stopping)
    {
        var tenants = new List<(string Id, SchemaName Schema, string Store)>();
        await using (var list = dataSource.CreateCommand(
            "SELECT id, schema_name, store FROM catalog.tenants WHERE status IN ('active', 'suspended') AND schema_version < $1 ORDER BY id"))
        {
            list.Parameters.Add(new NpgsqlParameter { Value = migrator.LatestVersion });
            await using var reader = await list.ExecuteReaderAsync(stopping);
            while (await reader.ReadAsync(stopping))
            {
                tenants.Add((reader.GetString(0), SchemaName.Parse(reader.GetString(1)), reader.GetString(2)));
            }
        }

        await UpdateRunAsync(runId, "running", tenants.Count, 0, [], finished: false);
        var failures = new List<TenantMigrationFailure>();
        var done = 0;
        var gate = new object();
        try
        {
            await Parallel.ForEachAsync(tenants, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = stopping }, async (tenant, ct) =>
            {
                string? error = null;
                try
                {
                    var database = connections.For(tenant.Store, tenant.Schema);
                    await using var connection = await database.OpenConnectionAsync(ct);
                    await using var transaction = await connection.BeginTransactionAsync(ct);
                    await migrator.MigrateAsync(database, connection, transaction, createSchema: false, ct);
                    await transaction.CommitAsync(ct);
                    await migrator.RecordVersionAsync(connections.Catalog, tenant.Id, ct);
                    directory?.Evict(tenant.Id);
                }
                catch (Exception e) when (e is NpgsqlException or InvalidOperationException && !ct.IsCancellationRequested)
                {
                    logger.LogError(e, "Tenant migration of {TenantId} failed", tenant.Id);
                    // Admins read this in the progress view: what happened; the statement and SQLSTATE are logged.
                    error = "The tenant's pending migrations failed and were rolled back; the service log has the cause.";
                }

                int doneNow;
                List<TenantMigrationFailure> snapshot;
                lock (gate)
                {
                    done++;
                    if (error is not null)
                    {
                        failures.Add(new TenantMigrationFailure(tenant.Id, error));
                    }

                    doneNow = done;
                    snapshot = [.. failures];
                }

                progress?.Report(new MigrationProgress(tenants.Count, doneNow, snapshot.Count, tenant.Id));
                await UpdateRunAsync(runId, "running", tenants.Count, doneNow - snapshot.Count, snapshot, finished: false);
            });
            await UpdateRunAsync(runId, failures.Count == 0 ? "succeeded" : "failed", tenants.Count, done - failures.Count, failures, finished: true);
        }
        catch (OperationCanceledException)
        {
            await UpdateRunAsync(runId, "interrupted", tenants.Count, done - failures.Count, failures, finished: true);
        }
        catch (Exception e)
        {
            logger.LogError(e, "Tenant migration run {RunId} stopped", runId);
            await UpdateRunAsync(runId, "failed", tenants.Count, done - failures.Count, failures, finished: true);
        }
    }

    private static async Task<bool> TryLockAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock($1)", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = RunLockKey });
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// Session locks outlive the connection's return to the pool, which resets nothing: released explicitly
    /// (docs/decisions/0004-bounded-auto-prepare-no-reset-on-close.md).
    /// </summary>
    private static async Task UnlockAsync(NpgsqlConnection connection)
    {
        await using var command = new NpgsqlCommand("SELECT pg_advisory_unlock($1)", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = RunLockKey });
        await command.ExecuteNonQueryAsync(CancellationToken.None);
    }

    private async Task<TenantMigrationRun> CreateRunAsync(string requestedBy, CancellationToken cancellationToken)
    {
        // Holding the run lock means no other run is alive: one still marked running died with its instance.
        await using (var stale = dataSource.CreateCommand(
            "UPDATE catalog.tenant_migration_runs SET status = 'interrupted', finished_at = now() WHERE status = 'running'"))
        {
            await stale.ExecuteNonQueryAsync(cancellationToken);
        }

        var id = Guid.CreateVersion7();
        await using var insert = dataSource.CreateCommand(
            $"INSERT INTO catalog.tenant_migration_runs (id, status, requested_by) VALUES ($1, 'running', $2) RETURNING {RunColumns}");
        insert.Parameters.Add(new NpgsqlParameter { Value = id });
        insert.Parameters.Add(new NpgsqlParameter { Value = requestedBy });
        await using var reader = await insert.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return ReadRun(reader);
    }

    private async Task UpdateRunAsync(Guid id, string status, int total, int succeeded, List<TenantMigrationFailure> failures, bool finished)
    {
        await using var command = dataSource.CreateCommand(
            """
            UPDATE catalog.tenant_migration_runs
            SET status = $2, total = $3, succeeded = $4, failed = $5, failures = $6::jsonb,
                finished_at = CASE WHEN $7 THEN now() ELSE finished_at END
            WHERE id = $1
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        command.Parameters.Add(new NpgsqlParameter { Value = status });
        command.Parameters.Add(new NpgsqlParameter { Value = total });
        command.Parameters.Add(new NpgsqlParameter { Value = succeeded });
        command.Parameters.Add(new NpgsqlParameter { Value = failures.Count });
        command.Parameters.Add(new NpgsqlParameter { Value = JsonSerializer.Serialize(failures, JsonSerializerOptions.Web) });
        command.Parameters.Add(new NpgsqlParameter { Value = finished });
        await command.ExecuteNonQueryAsync(CancellationToken.None);
    }

    private async Task<TenantMigrationRun?> ReadLastRunAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {RunColumns} FROM catalog.tenant_migration_runs ORDER BY started_at DESC, id DESC LIMIT 1");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadRun(reader) : null;
    }

    private async Task<TenantMigrationRun?> ReadRunAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {RunColumns} FROM catalog.tenant_migration_runs WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadRun(reader) : null;
    }

    private static TenantMigrationRun ReadRun(NpgsqlDataReader reader) => new(
        reader.GetGuid(0),
        reader.GetString(1),
        reader.GetString(2),
        reader.GetFieldValue<DateTimeOffset>(3),
        reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4),
        reader.GetInt32(5),
        reader.GetInt32(6),
        reader.GetInt32(7),
        JsonSerializer.Deserialize<List<TenantMigrationFailure>>(reader.GetString(8), JsonSerializerOptions.Web) ?? []);
}
