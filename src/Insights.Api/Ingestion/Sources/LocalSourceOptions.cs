namespace Insights.Ingestion;

/// <summary>NDJSON files of insight models (section <c>Ingestion:Local</c>).</summary>
public sealed class LocalSourceOptions
{
    /// <summary>
    /// Folder of <c>*.ndjson</c> files. A relative path is looked up under the content root, the current directory,
    /// and their parent folders, so the repository's samples are found wherever the host runs from.
    /// </summary>
    public string Folder { get; set; } = "samples/insight-models";
}
