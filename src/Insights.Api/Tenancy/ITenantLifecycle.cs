using Insights.Database;
using Npgsql;

namespace Insights.Tenancy;

/// <summary>
/// What another capability does, on the tables it owns, inside the transactions that create, resume and remove a tenant:
/// provisioning and deletion call every registered participant, so the tenant catalog names no table of theirs.
/// </summary>
public interface ITenantLifecycle
{
    /// <summary>Commands for the catalog transaction that makes a new tenant active.</summary>
    void Activating(NpgsqlBatch catalog, string tenantId, DateTimeOffset createdAt)
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
    /// Work in a move's switch: what the old store keeps about the schema (read under <paramref name="held"/>, while the
    /// tenant's writes are held) copied to the new store in <paramref name="transaction"/>.
    /// </summary>
    Task SwitchingStoresAsync(
        NpgsqlConnection source, NpgsqlTransaction held, NpgsqlConnection target, NpgsqlTransaction transaction, SchemaName schema,
        CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Commands for the store transaction that drops the tenant's schema there (a deletion, or a move's old copy).</summary>
    void DroppingSchema(NpgsqlBatch store, SchemaName schema)
    {
    }
}
