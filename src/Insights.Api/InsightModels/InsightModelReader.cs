using Insights.Tenancy;

namespace Insights.InsightModels;

public sealed class InsightModelReader(TenantDatabases connections)
{
    /// <summary>Where a page ends: newest first, by (updated_at, id).</summary>
    public sealed record Position(DateTimeOffset UpdatedAt, string Id)
    {
        public string Encode() => UpdatedAt.UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture) + "|" + Id;

        public static bool TryParse(string text, out Position? position)
        {
            position = null;
            var bar = text.IndexOf('|', StringComparison.Ordinal);
            if (bar <= 0 || !long.TryParse(text[..bar], System.Globalization.CultureInfo.InvariantCulture, out var ticks)
                || ticks < DateTimeOffset.MinValue.UtcTicks || ticks > DateTimeOffset.MaxValue.UtcTicks)
            {
                return false;
            }

            position = new Position(new DateTimeOffset(ticks, TimeSpan.Zero), text[(bar + 1)..]);
            return true;
        }
    }

    public async Task<Page<InsightModelResponse>> ListAsync(
        TenantInfo tenant, string? insight, string? key, DateTimeOffset? updatedSince, Position? after, int limit, CancellationToken ct)
    {
        var database = connections.For(tenant);
        // Only the filters given are in the statement: it is planned afresh at each request on a lane, and optional
        // predicates (`$1 IS NULL OR …`) make that slower
        // (docs/decisions/0004-bounded-auto-prepare-no-reset-on-close.md).
        await using var command = database.CreateCommand();
        var filters = new List<string>(4);
        if (insight is not null)
        {
            filters.Add($"insight = {Parameter(insight, NpgsqlDbType.Text)}");
        }

        if (key is not null)
        {
            filters.Add($"key = {Parameter(key, NpgsqlDbType.Text)}");
        }

        if (updatedSince is { } since)
        {
            filters.Add($"updated_at >= {Parameter(since.ToUniversalTime(), NpgsqlDbType.TimestampTz)}");
        }

        if (after is { } position)
        {
            filters.Add($"(updated_at, id) < ({Parameter(position.UpdatedAt, NpgsqlDbType.TimestampTz)}, {Parameter(position.Id, NpgsqlDbType.Text)})");
        }

        command.CommandText =
            $"""
            SELECT id, insight, module, key, filter, date_from, date_to, version, updated_at, deleted, payload::text
            FROM {database.Table("insight_models")}
            {(filters.Count > 0 ? "WHERE " + string.Join(" AND ", filters) : "")}
            ORDER BY updated_at DESC, id DESC
            LIMIT {Parameter(limit + 1, NpgsqlDbType.Integer)}
            """;

        var items = new List<InsightModelResponse>(limit + 1);
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                using var payload = JsonDocument.Parse(reader.GetString(10));
                items.Add(new InsightModelResponse(
                    reader.GetString(0), reader.GetString(1), reader.GetString(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3),
                    reader.IsDBNull(4) ? null : reader.GetString(4),
                    reader.IsDBNull(5) ? null : reader.GetFieldValue<DateOnly>(5),
                    reader.IsDBNull(6) ? null : reader.GetFieldValue<DateOnly>(6),
                    reader.GetInt64(7), reader.GetFieldValue<DateTimeOffset>(8), reader.GetBoolean(9),
                    payload.RootElement.Clone()));
            }
        }

        var next = PageRows.TrimExtra(items, limit) ? Cursor.Encode(new Position(items[^1].UpdatedAt, items[^1].Id).Encode()) : null;
        return new Page<InsightModelResponse>(items, next);

        string Parameter(object value, NpgsqlDbType type)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value, NpgsqlDbType = type });
            return "$" + command.Parameters.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }
}
