using System.Net;
using System.Text.Json;

namespace Insights.IntegrationTests.Infrastructure;

public static class Problem
{
    /// <summary>Asserts an RFC 9457 answer with the given status and returns its body.</summary>
    public static async Task<JsonElement> AssertAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"Expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return AssertBody(text, status);
    }

    /// <summary>The same, for a response read off a socket.</summary>
    public static JsonElement AssertRaw(RawResponse response, HttpStatusCode status)
    {
        Assert.True((int)status == response.Status, $"Expected {(int)status}, got {response.Status}: {response.Body}");
        Assert.Equal("application/problem+json", response.Header("Content-Type")?.Split(';')[0].Trim());
        return AssertBody(response.Body, status);
    }

    private static JsonElement AssertBody(string text, HttpStatusCode status)
    {
        var body = JsonDocument.Parse(text).RootElement.Clone();
        Assert.Equal((int)status, body.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("title").GetString()));
        Assert.False(string.IsNullOrEmpty(body.GetProperty("type").GetString()));
        Assert.False(string.IsNullOrEmpty(body.GetProperty("detail").GetString()));
        Assert.DoesNotContain("Exception", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Npgsql", text, StringComparison.Ordinal);
        Assert.DoesNotContain("catalog.", text, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
        return body;
    }
}
