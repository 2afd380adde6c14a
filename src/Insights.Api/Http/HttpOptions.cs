namespace Insights.Http;

/// <summary>Settings of the HTTP surface (section <c>Http</c>).</summary>
public sealed class HttpOptions
{
    public const string Section = "Http";

    /// <summary>Largest request body accepted; a larger one gets 413.</summary>
    [Range(1024, 64L * 1024 * 1024)]
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024 + 16 * 1024;

    /// <summary>Longest request line (method, path and query string) accepted; a longer one gets 414.</summary>
    [Range(1024, 64 * 1024)]
    public int MaxRequestLineBytes { get; set; } = 8 * 1024;

    /// <summary>Largest total size of the request headers accepted; larger ones get 431.</summary>
    [Range(4 * 1024, 1024 * 1024)]
    public int MaxRequestHeadersBytes { get; set; } = 32 * 1024;

    /// <summary>Most request headers accepted; more get 431.</summary>
    [Range(16, 1000)]
    public int MaxRequestHeaderCount { get; set; } = 100;
}
