namespace Insights.Ingestion;

/// <summary>A position in a tenant's models: all strictly after (<see cref="UpdatedAt"/>, <see cref="Id"/>).</summary>
public sealed record SourceCursor(DateTimeOffset UpdatedAt, string Id)
{
    /// <summary>The cursor just past a model.</summary>
    public static SourceCursor After(SourceModel model) => new(model.UpdatedAt, model.Id);

    /// <summary>Whether a model at (<paramref name="updatedAt"/>, <paramref name="id"/>) is after the cursor.</summary>
    public bool Precedes(DateTimeOffset updatedAt, string id)
    {
        var at = SourceTime.Truncate(UpdatedAt);
        return updatedAt > at || (updatedAt == at && string.CompareOrdinal(id, Id) > 0);
    }
}
