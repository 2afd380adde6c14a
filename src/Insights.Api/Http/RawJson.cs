using System.Text.Json.Serialization;

namespace Insights.Http;

/// <summary>JSON text passed through to the response as it is stored.</summary>
[JsonConverter(typeof(RawJsonConverter))]
public sealed record RawJson(string Text);
