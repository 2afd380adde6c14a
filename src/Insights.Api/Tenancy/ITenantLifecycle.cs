namespace Insights.Tenancy;

/// <summary>
/// What another capability does to the tables it owns inside the transactions that create, resume, move and remove a
/// tenant, so the tenant catalog names no table of theirs (docs/decisions/0021-typed-seams-and-one-owner-per-table.md).
/// </summary>
public interface ITenantLifecycle
{
    /// <summary>Commands for the catalog batch that makes a new tenant active (after its row's update).</summary>
    void Activating(NpgsqlBatch catalog, string tenantId)
    {
    }

    /// <summary>Work in the catalog transaction that makes a suspended tenant active again.</summary>
    Task ResumingAsync(NpgsqlConnection catalog, NpgsqlTransaction transaction, string tenantId, CancellationToken cancellationToken) =>
        Task.CompletedTask;

    /// <summary>Commands for the catalog transaction that forgets a deleted tenant (the audit trail stays).</summary>
    void Forgetting(NpgsqlBatch catalog, string tenantId)
    {
    }

    /// <summary>The tables of the tenant's schema this capability owns, for a move between stores to copy.</summary>
    IEnumerable<TenantTable> Tables => [];

    /// <summary>
    /// Work in a move's switch: what the old store keeps about the schema, read under <paramref name="held"/> (the
    /// tenant's writes held), copied to the new store in <paramref name="transaction"/>.
    /// </summary>
    Task SwitchingStoresAsync(
        NpgsqlConnection source, NpgsqlTransaction held, NpgsqlConnection target, NpgsqlTransaction transaction, SchemaName schema,
        CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Commands for the store transaction that drops the schema (a deletion, or a move's old copy).</summary>
    void DroppingSchema(NpgsqlBatch store, SchemaName schema)
    {
    }
}
