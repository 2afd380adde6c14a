namespace Insights.Ingestion;

/// <summary>How a fleet sweep finds the rows to read (setting <c>Ingestion:SweepReadBy</c>).</summary>
public enum SweepReadBy
{
    /// <summary>Rows updated at or after the watermark less the look-back.</summary>
    UpdatedAt,

    /// <summary>Rows that reached the source at or after the arrival watermark less the look-back.</summary>
    Arrival,
}
