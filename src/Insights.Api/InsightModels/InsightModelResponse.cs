namespace Insights.InsightModels;

/// <summary>A stored insight model as clients and admins see it.</summary>
public sealed record InsightModelResponse(
    string Id,
    string Insight,
    string Module,
    string? Key,
    string? Filter,
    DateOnly? DateFrom,
    DateOnly? DateTo,
    long Version,
    DateTimeOffset UpdatedAt,
    bool Deleted,
    JsonElement Payload);
