using Insights.Tenancy;

namespace Insights.FleetHealth;

/// <summary>The fleet health view for admins: <c>GET /api/v1/fleet/health</c>.</summary>
public static class FleetHealthApi
{
    private static readonly Dictionary<string, FleetHealthSort> Sorts = new(StringComparer.Ordinal)
    {
        ["oldestVisibleAge"] = FleetHealthSort.OldestVisibleAge,
        ["lastReceiveAt"] = FleetHealthSort.LastReceiveAt,
        ["dead"] = FleetHealthSort.Dead,
        ["processingFailures"] = FleetHealthSort.ProcessingFailures,
        ["ingestionLag"] = FleetHealthSort.IngestionLag,
    };

    public static RouteGroupBuilder MapFleetHealthApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapApiGroup("/fleet", "Fleet");

        group.MapGet("/health", List)
            .Operation(
                Policies.Viewer,
                "FleetHealth",
                "Every tenant's delivery and ingestion health, worst first by sort (oldestVisibleAge, the default; lastReceiveAt; dead; " +
                "processingFailures; ingestionLag): ready / leased / dead, age of the oldest visible message, last receive and ack, " +
                "processing failures reported in the last day, ingestion lag and the last ingestion error.")
            .ProducesValidationProblem();

        return group;
    }

    private static async Task<Results<Ok<Page<TenantHealth>>, ValidationProblem>> List(
        string? sort, int? limit, string? cursor, FleetHealthView view, CancellationToken ct)
    {
        var errors = Cursor.Check(limit, cursor, out var pageSize, out var after) ?? [];
        var sortName = sort ?? "oldestVisibleAge";
        if (!Sorts.TryGetValue(sortName, out var order))
        {
            errors["sort"] = [$"sort must be one of {string.Join(", ", Sorts.Keys)}."];
        }

        string? afterKey = null, afterTenant = null;
        if (after is not null && !errors.ContainsKey("sort") && !TryReadCursor(after, sortName, out afterKey, out afterTenant))
        {
            errors["cursor"] = ["cursor is not a cursor this API returned for this sort."];
        }

        if (errors.Count > 0)
        {
            return Invalid(errors);
        }

        try
        {
            var (items, more, lastKey) = await view.ListAsync(order, afterKey, afterTenant, pageSize, ct);
            return TypedResults.Ok(new Page<TenantHealth>(items, more ? Cursor.Encode($"{sortName}|{lastKey}|{items[^1].TenantId}") : null));
        }
        catch (PostgresException e) when (afterKey is not null && e.SqlState.StartsWith("22", StringComparison.Ordinal))
        {
            // A made-up key that does not read as the sort's type.
            return Invalid(new() { ["cursor"] = ["cursor is not a cursor this API returned for this sort."] });
        }
    }

    private static ValidationProblem Invalid(Dictionary<string, string[]> errors) =>
        TypedResults.ValidationProblem(errors, detail: "One or more query parameters are not valid.");

    /// <summary>A cursor is <c>sort|key|tenant</c>: its sort, the last item's key as text, its tenant.</summary>
    private static bool TryReadCursor(string text, string sort, out string? key, out string? tenant)
    {
        key = tenant = null;
        var first = text.IndexOf('|', StringComparison.Ordinal);
        var last = text.LastIndexOf('|');
        if (first < 0 || last <= first || text[..first] != sort || !TenantId.IsValid(text[(last + 1)..]))
        {
            return false;
        }

        key = text[(first + 1)..last];
        tenant = text[(last + 1)..];
        return key.Length is > 0 and <= 64;
    }
}
