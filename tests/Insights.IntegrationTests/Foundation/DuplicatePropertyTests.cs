using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Insights.IntegrationTests.Infrastructure;
using Insights.IntegrationTests.SmartLink;

namespace Insights.IntegrationTests.Foundation;

/// <summary>
/// A body that names a property twice, at any depth, is a 400 naming it on every endpoint that takes a body, and
/// changes nothing: which value would count is the reader's choice, so neither does.
/// </summary>
[Collection(SharedHost.Name)]
public sealed class DuplicatePropertyTests(InsightsFixture host)
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>Asserts a 400 whose error for <paramref name="field"/> says it is repeated, and mentions <paramref name="where"/>.</summary>
    private static async Task AssertRepeatedAsync(HttpResponseMessage response, string field, string? where = null)
    {
        var problem = await Problem.AssertAsync(response, HttpStatusCode.BadRequest);
        var messages = problem.TryGetProperty("errors", out var errors) && errors.TryGetProperty(field, out var named) ? named : default;
        Assert.True(messages.ValueKind == JsonValueKind.Array, $"no error for '{field}': {problem}");
        var message = messages[0].GetString()!;
        Assert.Contains("more than once", message, StringComparison.Ordinal);
        Assert.Contains(where ?? field, message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"id":"{id}","id":"{id}-b","name":"n"}""", "id", null)]
    [InlineData("""{"id":"{id}","Id":"{id}-b","name":"n"}""", "Id", null)]
    [InlineData("""{"id":"{id}","name":"a","name":"b"}""", "name", null)]
    [InlineData("""{"id":"{id}","name":"n","settings":{"a":1,"a":2}}""", "settings", "'a'")]
    [InlineData("""{"id":"{id}","name":"n","settings":{"a":{"b":[1,{"c":1,"c":2}]}}}""", "settings", "'a.b[1].c'")]
    [InlineData("""{"id":"{id}","name":"n","settings":[{"x":1},{"y":1,"y":1}]}""", "settings", "'[1].y'")]
    [InlineData("""{"id":"{id}","name":"n","store":"main","store":"store2"}""", "store", null)]
    public async Task A_tenant_create_naming_a_property_twice_is_400_and_creates_nothing(string body, string field, string? where)
    {
        var id = InsightsFixture.NewTenantId("dup");
        await AssertRepeatedAsync(await host.Admin.PostAsync("/api/v1/tenants", Json(body.Replace("{id}", id, StringComparison.Ordinal))), field, where);
        await Problem.AssertAsync(await host.Admin.GetAsync($"/api/v1/tenants/{id}"), HttpStatusCode.NotFound);
        await Problem.AssertAsync(await host.Admin.GetAsync($"/api/v1/tenants/{id}-b"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task The_same_name_in_different_objects_is_no_duplicate()
    {
        var id = InsightsFixture.NewTenantId("dup");
        const string settings = """{"a":{"a":1},"b":[{"a":1},{"a":2}],"c":{"A":1,"a":2}}""";
        var created = await host.Admin.PostAsync("/api/v1/tenants", Json($$"""{"id":"{{id}}","name":"n","settings":{{settings}}}"""));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var tenant = await host.Admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{id}");
        Assert.True(JsonElement.DeepEquals(JsonDocument.Parse(settings).RootElement, tenant.GetProperty("settings")), tenant.ToString());
    }

    [Theory]
    [InlineData("""{"status":"active","status":"suspended"}""", "status", null)]
    [InlineData("""{"status":"suspended","status":"active"}""", "status", null)]
    [InlineData("""{"name":"a","name":"b"}""", "name", null)]
    [InlineData("""{"settings":{"k":"a","k":"b"}}""", "settings", "'k'")]
    public async Task A_tenant_edit_naming_a_property_twice_is_400_and_changes_nothing(string body, string field, string? where)
    {
        var id = await host.CreateTenantAsync();
        using var request = new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/tenants/{id}") { Content = Json(body) };
        await AssertRepeatedAsync(await host.Admin.SendAsync(request), field, where);
        var tenant = await host.Admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{id}");
        Assert.Equal("Tenant " + id, tenant.GetProperty("name").GetString());
        Assert.Equal("active", tenant.GetProperty("status").GetString());
        Assert.Empty(tenant.GetProperty("settings").EnumerateObject());
    }

    [Fact]
    public async Task A_move_naming_its_store_twice_is_400_and_moves_nothing()
    {
        var id = await host.CreateTenantAsync();
        await AssertRepeatedAsync(
            await host.Admin.PostAsync($"/api/v1/tenants/{id}/move", Json($$"""{"store":"main","store":"{{InsightsFixture.SecondStore}}"}""")), "store");
        var tenant = await host.Admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{id}");
        Assert.Equal("main", tenant.GetProperty("store").GetString());
    }

    [Fact]
    public async Task An_insight_definition_naming_a_property_twice_is_400_and_is_not_stored()
    {
        var name = "Dup" + Guid.NewGuid().ToString("N")[..8];
        await AssertRepeatedAsync(
            await host.Admin.PutAsync($"/api/v1/insight-definitions/{name}", Json("""{"module":"SIGAFIN","priority":"normal","priority":"high"}""")), "priority");
        await Problem.AssertAsync(await host.Admin.GetAsync($"/api/v1/insight-definitions/{name}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_redrive_naming_its_messages_twice_is_400_and_leaves_them_dead()
    {
        var id = await host.CreateTenantAsync();
        using var client = new QueueClient(host, id);
        var messageId = Assert.Single(await client.EnqueueAsync("dead"));
        var delivery = Assert.Single(await client.ReceiveAsync());
        Assert.Equal(HttpStatusCode.OK, (await client.Http.PostAsync("/api/v1/smartlink/nack", Json($$"""{"receipt":"{{delivery.Receipt}}","reason":"bad"}"""))).StatusCode);

        await AssertRepeatedAsync(
            await host.Admin.PostAsync($"/api/v1/tenants/{id}/messages/dead-letters/redrive", Json($$"""{"messageIds":[],"messageIds":["{{messageId}}"]}""")),
            "messageIds");
        var message = await host.Admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{id}/messages/{messageId}");
        Assert.Equal("dead", message.GetProperty("status").GetString());
    }

    [Theory]
    [InlineData("""{"max":1000,"max":1}""", "max")]
    [InlineData("""{"max":1,"visibilityTimeoutSeconds":1,"visibilityTimeoutSeconds":60}""", "visibilityTimeoutSeconds")]
    public async Task A_receive_naming_a_property_twice_is_400_and_leases_nothing(string body, string field)
    {
        var id = await host.CreateTenantAsync();
        using var client = new QueueClient(host, id);
        await client.EnqueueAsync("waiting");
        await AssertRepeatedAsync(await client.Http.PostAsync("/api/v1/smartlink/receive", Json(body)), field);
        var delivered = Assert.Single(await client.ReceiveAsync());
        Assert.Equal(1, delivered.DeliveryCount);
    }

    [Theory]
    [InlineData("ack", """{"receipts":["{receipt}"],"receipts":[]}""", "receipts")]
    [InlineData("nack", """{"receipt":"{receipt}","reason":"a","requeue":true,"requeue":false}""", "requeue")]
    [InlineData("nack", """{"receipt":"{receipt}","receipt":"{receipt}","reason":"a"}""", "receipt")]
    [InlineData("lease", """{"receipts":["{receipt}"],"visibilityTimeoutSeconds":600,"visibilityTimeoutSeconds":1}""", "visibilityTimeoutSeconds")]
    public async Task An_ack_nack_or_lease_naming_a_property_twice_is_400_and_the_delivery_stays_as_it_was(string verb, string body, string field)
    {
        var id = await host.CreateTenantAsync();
        using var client = new QueueClient(host, id);
        await client.EnqueueAsync("leased");
        var delivery = Assert.Single(await client.ReceiveAsync());
        await AssertRepeatedAsync(
            await client.Http.PostAsync($"/api/v1/smartlink/{verb}", Json(body.Replace("{receipt}", delivery.Receipt, StringComparison.Ordinal))), field);
        // Still leased under the same receipt, neither acked nor dead-lettered nor requeued.
        Assert.Empty(await client.ReceiveAsync());
        Assert.Equal(1, (await client.AckAsync(delivery.Receipt)).Acked);
    }

    [Theory]
    [InlineData("""{"type":"InsightProcessingStatus","type":"OnlineInsightRequest","data":{"messageId":"{id}","status":"processed"}}""", "type", null)]
    [InlineData("""{"type":"InsightProcessingStatus","data":{"messageId":"{id}","status":"processed","status":"failed"}}""", "data", "'status'")]
    [InlineData("""{"type":"InsightProcessingStatus","data":{"messageId":"{id}","status":"failed","detail":{"a":[{"b":1,"b":2}]}}}""", "data", "'detail.a[0].b'")]
    [InlineData("""{"type":"InsightProcessingStatus","data":{"messageId":"{id}","status":"failed"},"data":{"messageId":"{id}","status":"processed"}}""", "data", null)]
    [InlineData("""{"type":"InsightProcessingStatus","traceparent":"a","traceparent":"b","data":{"messageId":"{id}","status":"processed"}}""", "traceparent", null)]
    [InlineData("""{"type":"InsightProcessingStatus","source":"/a","source":"/b","data":{"messageId":"{id}","status":"processed"}}""", "source", null)]
    public async Task A_processing_status_naming_a_property_twice_is_400_and_records_nothing(string body, string field, string? where)
    {
        var id = await host.CreateTenantAsync();
        using var client = new QueueClient(host, id);
        var messageId = Assert.Single(await client.EnqueueAsync("processed?"));
        await AssertRepeatedAsync(
            await client.Http.PostAsync("/api/v1/smartlink/messages", Json(body.Replace("{id}", messageId.ToString(), StringComparison.Ordinal))), field, where);
        var message = await host.Admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{id}/messages/{messageId}");
        Assert.Equal(JsonValueKind.Null, message.GetProperty("processing").ValueKind);
    }

    [Theory]
    [InlineData("""{"type":"OnlineInsightRequest","data":{"insight":"X","insight":"Y"}}""", "data", "'insight'")]
    [InlineData("""{"type":"OnlineInsightRequest","data":{"insight":"X","parameters":{"p":1,"p":2}}}""", "data", "'parameters.p'")]
    public async Task An_online_request_through_the_queue_naming_a_property_twice_is_400_and_enqueues_nothing(string body, string field, string where)
    {
        var id = await host.CreateTenantAsync();
        using var client = new QueueClient(host, id);
        await AssertRepeatedAsync(await client.Http.PostAsync("/api/v1/smartlink/messages", Json(body)), field, where);
        Assert.Empty(await client.ReceiveAsync(wait: 1));
    }

    [Theory]
    [InlineData("""{"insight":"X","insight":"Y"}""", "insight", null)]
    [InlineData("""{"insight":"X","parameters":{"p":1,"p":2}}""", "parameters.p", null)]
    [InlineData("""{"insight":"X","parameters":{"p":{"q":1,"q":2}}}""", "parameters.p", "'q'")]
    public async Task An_online_insight_naming_a_property_twice_is_400(string body, string field, string? where)
    {
        var id = await host.CreateTenantAsync();
        using var client = host.TenantClient(id);
        await AssertRepeatedAsync(await client.PostAsync("/api/v1/online-insights", Json(body)), field, where);
    }
}
