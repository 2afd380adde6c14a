namespace Insights.Audit;

/// <summary>The audit trail for admins: <c>GET /api/v1/audit</c>.</summary>
public static class AuditApi
{
    private const int MaxFilterLength = 200;

    public static RouteGroupBuilder MapAuditApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapApiGroup("/audit", "Audit");
        group.MapGet("/", List)
            .Operation(
                Policies.Admin,
                "ListAudit",
                "The audit trail, newest first: who (subject, name, role), from where (client address, request id), the tenant, the " +
                "action and its outcome; filtered by tenant, subject, action and a time range [since, until).")
            .ProducesValidationProblem();
        return group;
    }

    private static async Task<Results<Ok<Page<AuditEntry>>, ValidationProblem>> List(
        string? tenant, string? subject, string? action, DateTimeOffset? since, DateTimeOffset? until, int? limit, string? cursor,
        AuditTrail trail, CancellationToken ct)
    {
        var errors = Cursor.Check(limit, cursor, out var pageSize, out var after) ?? [];
        CheckFilter(errors, "tenant", tenant);
        CheckFilter(errors, "subject", subject);
        CheckFilter(errors, "action", action);
        if (since > until)
        {
            errors["until"] = ["until must not be before since."];
        }

        (DateTimeOffset At, long Id)? before = null;
        if (after is not null)
        {
            if (TryReadCursor(after, out var key))
            {
                before = key;
            }
            else
            {
                errors["cursor"] = ["cursor is not a cursor this API returned."];
            }
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, detail: "One or more query parameters are not valid.");
        }

        var (items, more) = await trail.ListAsync(new AuditQuery(tenant, subject, action, since, until, pageSize, before), ct);
        return TypedResults.Ok(new Page<AuditEntry>(items, more ? Cursor.Encode($"{items[^1].At.UtcTicks}.{items[^1].Id}") : null));
    }

    private static void CheckFilter(Dictionary<string, string[]> errors, string name, string? value)
    {
        if (value is not null && (value.Length is 0 or > MaxFilterLength || value.Any(char.IsControl)))
        {
            errors[name] = [$"{name} must be 1 to {MaxFilterLength} characters, none of them control characters."];
        }
    }

    /// <summary>A cursor is <c>ticks.id</c> of the last record of the page: its time (UTC ticks) and id.</summary>
    private static bool TryReadCursor(string text, out (DateTimeOffset At, long Id) key)
    {
        key = default;
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0
            || !long.TryParse(text.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
            || !long.TryParse(text.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            || ticks < DateTimeOffset.UnixEpoch.UtcTicks || ticks > DateTimeOffset.MaxValue.UtcTicks)
        {
            return false;
        }

        key = (new DateTimeOffset(ticks, TimeSpan.Zero), id);
        return true;
    }
}
