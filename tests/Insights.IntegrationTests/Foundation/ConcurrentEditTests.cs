using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Insights.IntegrationTests.Infrastructure;

namespace Insights.IntegrationTests.Foundation;

/// <summary>ETag and If-Match on tenants and insight definitions: a write of a stale copy is a 412 and changes nothing.</summary>
[Collection(SharedHost.Name)]
public sealed class ConcurrentEditTests(InsightsFixture host)
{
    private static HttpRequestMessage Request(HttpMethod method, string path, object? body, string? ifMatch)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        }

        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }

        return request;
    }

    private async Task<(string ETag, JsonElement Body)> GetAsync(string path)
    {
        var response = await host.Admin.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (response.Headers.ETag!.ToString(), await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    [Fact]
    public async Task A_tenant_edited_or_deleted_from_a_stale_copy_is_412_and_unchanged()
    {
        var id = await host.CreateTenantAsync();
        var path = $"/api/v1/tenants/{id}";
        var (first, _) = await GetAsync(path);
        Assert.Matches("^\"[0-9]+\"$", first);

        var renamed = await host.Admin.SendAsync(Request(HttpMethod.Patch, path, new { name = "First edit" }, first));
        Assert.Equal(HttpStatusCode.OK, renamed.StatusCode);
        var second = renamed.Headers.ETag!.ToString();
        Assert.NotEqual(first, second);
        Assert.Equal(second, (await GetAsync(path)).ETag);

        await Problem.AssertAsync(await host.Admin.SendAsync(Request(HttpMethod.Patch, path, new { name = "Lost update" }, first)), HttpStatusCode.PreconditionFailed);
        await Problem.AssertAsync(await host.Admin.SendAsync(Request(HttpMethod.Patch, path, new { name = "Weak" }, "W/" + second)), HttpStatusCode.PreconditionFailed);
        await Problem.AssertAsync(await host.Admin.SendAsync(Request(HttpMethod.Delete, path, null, first)), HttpStatusCode.PreconditionFailed);
        foreach (var malformed in new[] { "abc", "\"unterminated", "\"1\" \"2\"" })
        {
            await Problem.AssertAsync(await host.Admin.SendAsync(Request(HttpMethod.Patch, path, new { name = "Malformed" }, malformed)), HttpStatusCode.BadRequest);
        }

        Assert.Equal("First edit", (await GetAsync(path)).Body.GetProperty("name").GetString());

        // One of the tags listed, or any version, or no precondition at all.
        Assert.Equal(HttpStatusCode.OK, (await host.Admin.SendAsync(Request(HttpMethod.Patch, path, new { name = "Listed" }, $"\"1\", {second}"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Admin.SendAsync(Request(HttpMethod.Patch, path, new { name = "Any" }, "*"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Admin.SendAsync(Request(HttpMethod.Patch, path, new { name = "Unconditional" }, null))).StatusCode);

        var (current, _) = await GetAsync(path);
        Assert.Equal(HttpStatusCode.NoContent, (await host.Admin.SendAsync(Request(HttpMethod.Delete, path, null, current))).StatusCode);
        await Problem.AssertAsync(await host.Admin.GetAsync(path), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Of_two_edits_from_the_same_copy_exactly_one_wins()
    {
        var id = await host.CreateTenantAsync();
        var path = $"/api/v1/tenants/{id}";
        var (etag, _) = await GetAsync(path);

        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            host.Admin.SendAsync(Request(HttpMethod.Patch, path, new { name = $"Editor {i}" }, etag))));

        Assert.Single(answers, a => a.StatusCode == HttpStatusCode.OK);
        Assert.Equal(7, answers.Count(a => a.StatusCode == HttpStatusCode.PreconditionFailed));
    }

    [Fact]
    public async Task An_insight_definition_written_from_a_stale_copy_is_412_and_unchanged()
    {
        var name = "Etag" + Guid.NewGuid().ToString("N")[..8];
        var path = $"/api/v1/insight-definitions/{name}";
        await Problem.AssertAsync(
            await host.Admin.SendAsync(Request(HttpMethod.Put, path, new { module = "SIGAFIN" }, "\"1\"")), HttpStatusCode.PreconditionFailed);

        var created = await host.Admin.SendAsync(Request(HttpMethod.Put, path, new { module = "SIGAFIN" }, null));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var first = created.Headers.ETag!.ToString();
        Assert.Equal(first, (await GetAsync(path)).ETag);

        var replaced = await host.Admin.SendAsync(Request(HttpMethod.Put, path, new { module = "SIGACOM" }, first));
        Assert.Equal(HttpStatusCode.OK, replaced.StatusCode);
        var second = replaced.Headers.ETag!.ToString();
        Assert.NotEqual(first, second);

        await Problem.AssertAsync(await host.Admin.SendAsync(Request(HttpMethod.Put, path, new { module = "SIGAEST" }, first)), HttpStatusCode.PreconditionFailed);
        await Problem.AssertAsync(await host.Admin.SendAsync(Request(HttpMethod.Delete, path, null, first)), HttpStatusCode.PreconditionFailed);
        await Problem.AssertAsync(await host.Admin.SendAsync(Request(HttpMethod.Delete, path, null, "not-a-tag")), HttpStatusCode.BadRequest);
        Assert.Equal("SIGACOM", (await GetAsync(path)).Body.GetProperty("module").GetString());

        Assert.Equal(HttpStatusCode.NoContent, (await host.Admin.SendAsync(Request(HttpMethod.Delete, path, null, second))).StatusCode);
        await Problem.AssertAsync(await host.Admin.GetAsync(path), HttpStatusCode.NotFound);
    }
}
