using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Insights.IntegrationTests.Infrastructure;
using Insights.IntegrationTests.SmartLink;

namespace Insights.IntegrationTests.Foundation;

/// <summary>
/// Input that PostgreSQL or the JSON reader cannot hold is refused at the edge with a 400 naming the field, on admin
/// endpoints, client endpoints and queued messages alike, and changes nothing.
/// </summary>
[Collection(SharedHost.Name)]
public sealed class EdgeInputTests(InsightsFixture host)
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task AssertFieldAsync(HttpResponseMessage response, string field)
    {
        var problem = await Problem.AssertAsync(response, HttpStatusCode.BadRequest);
        Assert.True(
            problem.TryGetProperty("errors", out var errors)
                && errors.EnumerateObject().Any(e => e.Name == field || e.Name.StartsWith(field + ".", StringComparison.Ordinal)),
            $"no error for '{field}': {problem}");
    }

    [Theory]
    [InlineData("""{"id":"{id}","name":"a\u0000b"}""", "name")]
    [InlineData("""{"id":"{id}\n","name":"newline"}""", "id")]
    [InlineData("""{"id":"{id}\u0000","name":"nul"}""", "id")]
    [InlineData("""{"id":"{id}","name":"s","settings":{"k":"\u0000"}}""", "settings")]
    [InlineData("""{"id":"{id}","name":"s","settings":{"\u0000":1}}""", "settings")]
    [InlineData("""{"id":"{id}","name":"s","settings":{"k":"\ud800"}}""", "settings")]
    [InlineData("""{"id":"{id}","name":"s","settings":{"k":"\udc00\ud800"}}""", "settings")]
    [InlineData("""{"id":"{id}","name":"s","settings":{"k":1e400}}""", "settings")]
    [InlineData("""{"id":"{id}","name":"\ud800"}""", "name")]
    [InlineData("""{"id":"{id}","name":"s","nmae":"typo"}""", "nmae")]
    [InlineData("""{"id":"{id}","name":42}""", "name")]
    [InlineData("""{"id":["{id}"],"name":"array"}""", "id")]
    public async Task A_tenant_create_with_input_postgresql_cannot_hold_is_400_and_creates_nothing(string body, string field)
    {
        var id = InsightsFixture.NewTenantId("edge");
        await AssertFieldAsync(await host.Admin.PostAsync("/api/v1/tenants", Json(body.Replace("{id}", id, StringComparison.Ordinal))), field);
        await Problem.AssertAsync(await host.Admin.GetAsync($"/api/v1/tenants/{id}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Invalid_utf8_in_a_body_is_400_and_creates_nothing()
    {
        var id = InsightsFixture.NewTenantId("utf");
        var bytes = Encoding.UTF8.GetBytes($$$"""{"id":"{{{id}}}","name":"x","settings":{"k":"##"}}""");
        var at = Array.IndexOf(bytes, (byte)'#');
        bytes[at] = 0xC3;
        bytes[at + 1] = 0x28;
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        await Problem.AssertAsync(await host.Admin.PostAsync("/api/v1/tenants", content), HttpStatusCode.BadRequest);
        await Problem.AssertAsync(await host.Admin.GetAsync($"/api/v1/tenants/{id}"), HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("""{"name":"a\u0000b"}""", "name")]
    [InlineData("""{"settings":{"k":"\u0000"}}""", "settings")]
    [InlineData("""{"status":"suspended\u0000"}""", "status")]
    [InlineData("""{"name":"x","unknown":true}""", "unknown")]
    public async Task A_tenant_edit_with_bad_input_is_400_and_changes_nothing(string body, string field)
    {
        var id = await host.CreateTenantAsync();
        using var request = new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/tenants/{id}") { Content = Json(body) };
        await AssertFieldAsync(await host.Admin.SendAsync(request), field);
        var tenant = await host.Admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{id}");
        Assert.Equal("Tenant " + id, tenant.GetProperty("name").GetString());
        Assert.Equal("active", tenant.GetProperty("status").GetString());
    }

    [Theory]
    [InlineData("/api/v1/tenants?status=active%00", "status")]
    [InlineData("/api/v1/tenants?limit=5&cursor=YQA", "cursor")]
    [InlineData("/api/v1/tenants?cursor=_w", "cursor")]
    [InlineData("/api/v1/tenants?x%00=1", "query")]
    [InlineData("/api/v1/tenants/abc%0A", null)]
    [InlineData("/api/v1/tenants?limit=ten", "limit")]
    [InlineData("/api/v1/tenants?limit=5.0", "limit")]
    public async Task A_query_with_a_nul_or_a_made_up_cursor_is_400_naming_it(string path, string? field)
    {
        // A NUL in the path itself never reaches the service: the server refuses the request line (see KestrelErrorTests).
        if (field is null)
        {
            var response = await host.Admin.GetAsync(path);
            await Problem.AssertAsync(response, path.Contains("%0A", StringComparison.Ordinal) ? HttpStatusCode.NotFound : HttpStatusCode.BadRequest);
            return;
        }

        await AssertFieldAsync(await host.Admin.GetAsync(path), field);
    }

    [Fact]
    public async Task After_statements_refused_by_postgresql_every_pooled_connection_still_answers_in_step()
    {
        // Requests whose values fail in PostgreSQL used to leave a connection out of step; whatever gets through,
        // the pool must hand out only connections in step afterwards.
        for (var i = 0; i < 20; i++)
        {
            await Problem.AssertAsync(await host.Admin.GetAsync("/api/v1/tenants?cursor=YQA"), HttpStatusCode.BadRequest);
        }

        var lists = Enumerable.Range(0, 40).Select(_ => host.Admin.GetAsync("/api/v1/tenants?limit=2"));
        foreach (var response in await Task.WhenAll(lists))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    [Theory]
    [InlineData("Trailing%0A", """{"module":"SIGAFIN","priority":"normal"}""", null)]
    [InlineData("EdgeDefinition", """{"module":"SIGA\u0000FIN","priority":"normal"}""", "module")]
    [InlineData("EdgeDefinition", """{"module":"SIGAFIN","priority":"normal","online":"true"}""", "online")]
    [InlineData("EdgeDefinition", """{"module":"SIGAFIN","priority":"normal","description":"\ud83d"}""", "description")]
    public async Task An_insight_definition_with_bad_input_is_400_and_changes_nothing(string name, string body, string? field)
    {
        var response = await host.Admin.PutAsync($"/api/v1/insight-definitions/{name}", Json(body));
        if (field is null)
        {
            await Problem.AssertAsync(response, HttpStatusCode.BadRequest);
        }
        else
        {
            await AssertFieldAsync(response, field);
        }

        var all = await host.Admin.GetFromJsonAsync<JsonElement>("/api/v1/insight-definitions");
        var names = all.GetProperty("items").EnumerateArray().Select(d => d.GetProperty("name").GetString()!).ToList();
        Assert.DoesNotContain(names, n => n.StartsWith("Nul", StringComparison.Ordinal) || n.StartsWith("Trailing", StringComparison.Ordinal) || n == "EdgeDefinition");
    }

    [Theory]
    [InlineData("""{"max":"5"}""", "max")]
    [InlineData("""{"waitSeconds":1.5}""", "waitSeconds")]
    [InlineData("""{"max":5,"maxx":5}""", "maxx")]
    public async Task A_receive_with_loosely_typed_or_unknown_fields_is_400_and_leases_nothing(string body, string field)
    {
        var id = await host.CreateTenantAsync();
        using var client = new QueueClient(host, id);
        await client.EnqueueAsync("waiting");
        await AssertFieldAsync(await client.Http.PostAsync("/api/v1/smartlink/receive", Json(body)), field);
        var delivered = Assert.Single(await client.ReceiveAsync());
        Assert.Equal(1, delivered.DeliveryCount);
    }

    [Fact]
    public async Task A_nack_whose_reason_holds_a_nul_is_400_and_the_message_stays_leased()
    {
        var id = await host.CreateTenantAsync();
        using var client = new QueueClient(host, id);
        await client.EnqueueAsync("leased");
        var delivery = Assert.Single(await client.ReceiveAsync());
        await AssertFieldAsync(await client.Http.PostAsync("/api/v1/smartlink/nack", Json($$"""{"receipt":"{{delivery.Receipt}}","reason":"bad\u0000reason"}""")), "reason");
        Assert.Equal(1, (await client.AckAsync(delivery.Receipt)).Acked);
    }

    [Theory]
    [InlineData("""{"type":"OnlineInsightRequest","data":{"insight":"X","key":"a\u0000b"}}""", "data")]
    [InlineData("""{"type":"OnlineInsightRequest","data":{"insight":"X","key":"\ud800"}}""", "data")]
    [InlineData("""{"type":"OnlineInsightRequest","data":{"insight":"X","parameters":{"p":1e999}}}""", "data")]
    [InlineData("""{"type":"OnlineInsightRequest","data":{"insight":"X","unknown":1}}""", "data.unknown")]
    [InlineData("""{"type":"InsightProcessingStatus","data":{"messageId":"0b6a2e0e-5d2f-4a8e-9f43-6d8a1f0c9a11","status":"failed","detail":"\u0000"}}""", "data")]
    [InlineData("""{"type":"Online\u0000InsightRequest","data":{"insight":"X"}}""", "type")]
    [InlineData("""{"type":"OnlineInsightRequest","Bad-Name":1,"data":{"insight":"X"}}""", "attributes")]
    [InlineData("""{"type":"OnlineInsightRequest","tenantId":"someone-else","data":{"insight":"X"}}""", "tenantId")]
    public async Task A_message_sent_through_the_queue_with_bad_input_is_400_and_enqueues_nothing(string body, string field)
    {
        var id = await host.CreateTenantAsync();
        using var client = new QueueClient(host, id);
        await AssertFieldAsync(await client.Http.PostAsync("/api/v1/smartlink/messages", Json(body)), field);
        Assert.Empty(await client.ReceiveAsync(wait: 1));
    }

    [Fact]
    public async Task A_message_may_carry_cloudevents_extensions_and_its_own_tenant_id()
    {
        var id = await host.CreateTenantAsync();
        using var client = new QueueClient(host, id);
        var body = $$$"""{"type":"OnlineInsightRequest","tenantId":"{{{id}}}","traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","data":{"insight":"X"}}""";
        Assert.Equal(HttpStatusCode.Accepted, (await client.Http.PostAsync("/api/v1/smartlink/messages", Json(body))).StatusCode);
    }

    [Theory]
    [InlineData("""{"insight":"X","key":"a\u0000"}""", "key")]
    [InlineData("""{"insight":"X","filter":"\udfff"}""", "filter")]
    [InlineData("""{"insight":"X","dateFrom":20261101}""", "dateFrom")]
    [InlineData("""{"insight":"X","parameters":{"n":"\u0000"}}""", "parameters")]
    public async Task An_online_insight_with_bad_input_is_400(string body, string field)
    {
        var id = await host.CreateTenantAsync();
        using var client = host.TenantClient(id);
        await AssertFieldAsync(await client.PostAsync("/api/v1/online-insights", Json(body)), field);
    }

    [Theory]
    [InlineData("/api/v1/insight-models?key=a%00", "key")]
    [InlineData("/api/v1/insight-models?insight=%00", "insight")]
    [InlineData("/api/v1/insight-models?cursor=YQA", "cursor")]
    public async Task A_tenant_read_with_a_nul_in_its_query_is_400(string path, string field)
    {
        var id = await host.CreateTenantAsync();
        using var client = host.TenantClient(id);
        await AssertFieldAsync(await client.GetAsync(path), field);
        await AssertFieldAsync(await host.Admin.GetAsync(path.Replace("/api/v1/", $"/api/v1/tenants/{id}/", StringComparison.Ordinal)), field);
    }
}
