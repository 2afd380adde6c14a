namespace Insights.Ingestion;

public sealed record StartIngestionResponse(Guid RunId, string Status);
