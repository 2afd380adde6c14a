using System.ComponentModel.DataAnnotations;

namespace Insights.Hosting;

/// <summary>Settings of the HTTP surface (section <c>Http</c>).</summary>
public sealed class HttpOptions
{
    public const string Section = "Http";

    /// <summary>Largest request body accepted; a larger one gets 413.</summary>
    [Range(1024, 64L * 1024 * 1024)]
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024 + 16 * 1024;
}
