namespace Insights.InsightModels;

/// <summary>The online lookup of a tenant's stored models: the latest version of one model that matches.</summary>
public static class InsightModelLookup
{
    // "Latest version wins": among the insight's non-deleted models matching key and filter (when asked) whose
    // [date_from, date_to] overlaps [dateFrom, dateTo] (NULL = open-ended), the highest version, then the newest.
    // Only the conditions asked for are named (at most 16 texts), so each text's plan fits every value and the lookup
    // index serves insight and key.
    private static readonly string[] LookupConditions =
    [
        " AND key = $", " AND filter = $", " AND (date_to IS NULL OR date_to >= $", " AND (date_from IS NULL OR date_from <= $",
    ];

    /// <summary>The lookup of one model of <paramref name="insight"/>, with its parameters bound.</summary>
    public static NpgsqlCommand Command(TenantDatabase database, string insight, string? key, string? filter, DateOnly? dateFrom, DateOnly? dateTo)
    {
        object?[] values = [key, filter, dateFrom, dateTo];
        NpgsqlDbType[] types = [NpgsqlDbType.Text, NpgsqlDbType.Text, NpgsqlDbType.Date, NpgsqlDbType.Date];
        var sql = new System.Text.StringBuilder(384)
            .Append("SELECT key, version, updated_at, payload::text FROM ").Append(database.Table("insight_models"))
            .Append(" WHERE insight = $1 AND NOT deleted");
        var command = database.CreateCommand();
        command.Parameters.Add(new NpgsqlParameter { Value = insight, NpgsqlDbType = NpgsqlDbType.Text });
        for (var i = 0; i < values.Length; i++)
        {
            if (values[i] is null)
            {
                continue;
            }

            command.Parameters.Add(new NpgsqlParameter { Value = values[i], NpgsqlDbType = types[i] });
            sql.Append(LookupConditions[i]).Append(command.Parameters.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (i >= 2)
            {
                sql.Append(')');
            }
        }

        command.CommandText = sql.Append(" ORDER BY version DESC, updated_at DESC LIMIT 1").ToString();
        return command;
    }
}
