namespace Insights.Database;

public sealed class IngestionRunRow
{
    public Guid Id { get; set; }
    public required string TenantId { get; set; }
    public required string Status { get; set; }
    public required string Trigger { get; set; }
    public DateTimeOffset RequestedAt { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }
    public int Pages { get; set; }
    public long RowsRead { get; set; }
    public long RowsChanged { get; set; }
    public long MessagesEnqueued { get; set; }
    public long Skipped { get; set; }
    public required string SkippedTypes { get; set; }
    public long BytesProcessed { get; set; }
    public long BytesBilled { get; set; }
    public decimal EstimatedCostUsd { get; set; }
    public string? Error { get; set; }
    public int Resends { get; set; }
}
