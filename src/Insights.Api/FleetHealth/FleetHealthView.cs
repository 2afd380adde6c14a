using Insights.Ingestion;
using Insights.Tenancy;

namespace Insights.FleetHealth;

/// <summary>
/// Reads the fleet health view from the catalog alone (<c>tenant_health</c>, <see cref="IngestionRows"/>); no tenant
/// schema is read. A queue sort walks an index of <c>tenant_health</c> from the cursor. Riders of the sweep share its
/// time, which no index holds without rewriting their rows at each sweep, so the ingestion-lag sort merges three walks
/// of <c>ingestion_cursors</c> (migration 0011), a page each: non-riders by their own read, riders read after the sweep
/// by it, riders read at the sweep by tenant id (docs/decisions/0017-fleet-health-kept-as-work-happens.md).
/// </summary>
public sealed class FleetHealthView(CatalogDatabase dataSource)
{
    private const string Sweep = IngestionRows.LastSweep;

    private const string OwnRead = "coalesce(c.checked_at, c.created_at)";

    private const string ReadAt =
        $"coalesce(CASE WHEN c.riding_since IS NULL THEN {OwnRead} ELSE GREATEST({OwnRead}, sweep.read_at) END, t.created_at)";

    /// <summary>Each sort's key, SQL over <c>h</c> (tenant_health), and type, as migration 0009 indexes it.</summary>
    private static (string Key, string Type) KeyOf(FleetHealthSort sort) => sort switch
    {
        FleetHealthSort.OldestVisibleAge => ("coalesce(h.oldest_visible_at, 'infinity'::timestamptz)", "timestamptz"),
        FleetHealthSort.LastReceiveAt => ("coalesce(h.last_receive_at, '-infinity'::timestamptz)", "timestamptz"),
        FleetHealthSort.Dead => ("(-h.dead)", "bigint"),
        FleetHealthSort.ProcessingFailures => ("(-h.failures_day)", "bigint"),
        _ => throw new ArgumentOutOfRangeException(nameof(sort)),
    };

    /// <summary>
    /// A page after (<paramref name="afterKey"/>, <paramref name="afterTenant"/>), the sort key of the last item of the
    /// page before as text; and the sort key of the last item of this one.
    /// </summary>
    public async Task<(List<TenantHealth> Items, bool More, string? LastKey)> ListAsync(
        FleetHealthSort sort, string? afterKey, string? afterTenant, int limit, CancellationToken cancellationToken)
    {
        var page = sort == FleetHealthSort.IngestionLag ? LagPage(afterKey is not null) : QueuePage(sort, afterKey is not null);
        await using var command = dataSource.CreateCommand(
            $"""
            WITH page AS MATERIALIZED (
            {page}
            )
            SELECT h.tenant_id, t.name, t.status, GREATEST(h.ready, 0), GREATEST(h.leased, 0), GREATEST(h.dead, 0),
                   CASE WHEN h.oldest_visible_at <= now() THEN extract(epoch FROM now() - h.oldest_visible_at)::double precision END,
                   CASE WHEN h.oldest_visible_at <= now() THEN h.oldest_visible_at END,
                   h.last_receive_at, h.last_ack_at, GREATEST(h.failures_day, 0),
                   {ReadAt}, c.riding_since IS NOT NULL, e.error, e.finished_at, p.sort_key,
                   extract(epoch FROM now() - {ReadAt})::double precision
            FROM page p
            JOIN catalog.tenant_health h ON h.tenant_id = p.tenant_id
            JOIN {TenantRows.Tenants} t ON t.id = p.tenant_id
            LEFT JOIN {IngestionRows.Cursors} c ON c.tenant_id = p.tenant_id
            CROSS JOIN {Sweep} AS sweep
            LEFT JOIN LATERAL (
                SELECT r.error, r.finished_at FROM {IngestionRows.Runs} r
                WHERE r.tenant_id = p.tenant_id AND r.error IS NOT NULL
                ORDER BY r.requested_at DESC LIMIT 1) AS e ON true
            ORDER BY p.position
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)afterKey ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)afterTenant ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = limit + 1 });
        var items = new List<TenantHealth>(limit + 1);
        var keys = new List<string>(limit + 1);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(new TenantHealth(
                reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5),
                reader.IsDBNull(6) ? null : Math.Max(0, reader.GetDouble(6)), Time(7), Time(8), Time(9), reader.GetInt64(10),
                Math.Max(0, reader.GetDouble(16)), reader.GetFieldValue<DateTimeOffset>(11), reader.GetBoolean(12),
                reader.IsDBNull(13) ? null : reader.GetString(13), Time(14)));
            keys.Add(reader.GetString(15));
        }

        var more = Http.PageRows.TrimExtra(items, limit);
        return (items, more, items.Count > 0 ? keys[items.Count - 1] : null);

        DateTimeOffset? Time(int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<DateTimeOffset>(ordinal);
    }

    private static string QueuePage(FleetHealthSort sort, bool after)
    {
        var (key, type) = KeyOf(sort);
        return $"""
            SELECT h.tenant_id, ({key})::text AS sort_key, row_number() OVER (ORDER BY {key}, h.tenant_id) AS position
            FROM (SELECT h.tenant_id, h.oldest_visible_at, h.last_receive_at, h.dead, h.failures_day FROM catalog.tenant_health h
                  {(after ? $"WHERE ({key}, h.tenant_id) > ($1::{type}, $2)" : "")}
                  ORDER BY {key}, h.tenant_id LIMIT $3) AS h
            """;
    }

    private static string LagPage(bool after)
    {
        // The last sweep's time as a scalar subquery: computed once, before the walks, so it bounds their index scans.
        const string swept = IngestionRows.LastSweep;
        var afterOwn = after ? $"AND ({OwnRead}, c.tenant_id) > ($1::timestamptz, $2)" : "";
        var afterSweep = after
            ? $"AND {swept} >= $1::timestamptz AND c.tenant_id > CASE WHEN {swept} > $1::timestamptz THEN '' ELSE $2 END "
              + $"AND h.tenant_id > CASE WHEN {swept} > $1::timestamptz THEN '' ELSE $2 END"
            : "";
        return $"""
            SELECT p.tenant_id, p.read_at::text AS sort_key, row_number() OVER (ORDER BY p.read_at, p.tenant_id) AS position
            FROM (
                (SELECT c.tenant_id, {OwnRead} AS read_at
                 FROM {IngestionRows.Cursors} c JOIN catalog.tenant_health h ON h.tenant_id = c.tenant_id
                 WHERE c.riding_since IS NULL {afterOwn}
                 ORDER BY {OwnRead}, c.tenant_id LIMIT $3)
                UNION ALL
                (SELECT c.tenant_id, {OwnRead}
                 FROM {IngestionRows.Cursors} c JOIN catalog.tenant_health h ON h.tenant_id = c.tenant_id
                 WHERE c.riding_since IS NOT NULL AND {OwnRead} > coalesce({swept}, '-infinity') {afterOwn}
                 ORDER BY {OwnRead}, c.tenant_id LIMIT $3)
                UNION ALL
                (SELECT c.tenant_id, {swept}
                 FROM {IngestionRows.Cursors} c JOIN catalog.tenant_health h ON h.tenant_id = c.tenant_id
                 WHERE c.riding_since IS NOT NULL AND {OwnRead} <= {swept} {afterSweep}
                 ORDER BY c.tenant_id LIMIT $3)
            ) AS p
            ORDER BY p.read_at, p.tenant_id LIMIT $3
            """;
    }
}
