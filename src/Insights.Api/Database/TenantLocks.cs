namespace Insights.Database;

/// <summary>
/// Session-level advisory locks of one tenant, keyed by a namespace (what the lock guards) and the tenant's id, taken
/// on a catalog connection so every node meets them. They outlive the connection's return to the pool: whoever takes
/// one releases it explicitly.
/// </summary>
public static class TenantLocks
{
    /// <summary>A tenant's ingestion: its runs, and a move that keeps them off ("ings").</summary>
    public const int Ingestion = 0x696E6773;

    /// <summary>Waits for the lock.</summary>
    public static async Task LockAsync(NpgsqlConnection connection, int space, string tenantId, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, "SELECT pg_advisory_lock($1, hashtext($2))", space, tenantId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Takes the lock if it is free; false when another session holds it.</summary>
    public static async Task<bool> TryLockAsync(NpgsqlConnection connection, int space, string tenantId, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, "SELECT pg_try_advisory_lock($1, hashtext($2))", space, tenantId);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public static async Task UnlockAsync(NpgsqlConnection connection, int space, string tenantId)
    {
        await using var command = Command(connection, "SELECT pg_advisory_unlock($1, hashtext($2))", space, tenantId);
        await command.ExecuteNonQueryAsync(CancellationToken.None);
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql, int space, string tenantId) =>
        new(sql, connection) { Parameters = { new() { Value = space }, new() { Value = tenantId } } };
}
