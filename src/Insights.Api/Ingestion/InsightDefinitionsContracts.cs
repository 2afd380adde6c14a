using System.Text.Json.Serialization;

namespace Insights.Ingestion;

/// <summary>An insight type of the service-wide catalog.</summary>
public sealed record InsightDefinition(
    string Name, string Module, string Priority, bool Online, string Source, string? Description, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt,
    [property: JsonIgnore] uint Version = 0)
{
    public bool IsHighPriority => Priority == "high";
}

public sealed record PutInsightDefinitionRequest(string? Module, string? Priority, bool? Online, string? Source, string? Description);
