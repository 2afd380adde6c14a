using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Insights.IntegrationTests.Fakes;
using Insights.IntegrationTests.Infrastructure;
using Insights.IntegrationTests.SmartLink;
using Insights.SmartLink;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using static Insights.IntegrationTests.OnlineInsights.OnlineInsightsFixture;

namespace Insights.IntegrationTests.OnlineInsights;

/// <summary>Models of one tenant that differ by key, filter, dates, version and deletion.</summary>
public static class OnlineScenario
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);
    private static readonly DateOnly Nov1 = new(2026, 11, 1), Nov30 = new(2026, 11, 30), Dec1 = new(2026, 12, 1), Dec31 = new(2026, 12, 31);

    public static StoredModel[] Models(string prefix) =>
    [
        new(prefix + "-1", Stored, "k1", "filial=01", Nov1, Nov30, 1, T0, """{"v":1}"""),
        // An older update with a higher version: the version wins.
        new(prefix + "-3", Stored, "k1", "filial=01", Nov1, Nov30, 3, T0.AddHours(-1), """{"v":3}"""),
        new(prefix + "-5", Stored, "k1", "filial=01", Nov1, Nov30, 5, T0.AddHours(1), """{"v":5}""", Deleted: true),
        new(prefix + "-7", Stored, "k1", "filial=01", Dec1, Dec31, 7, T0, """{"v":7}"""),
        new(prefix + "-9", Stored, "k1", "filial=02", Nov1, Nov30, 9, T0, """{"v":9}"""),
        new(prefix + "-2", Stored, "k2", null, null, null, 2, T0, """{"v":2,"texto":"Previsão"}"""),
        new(prefix + "-off", Offline, "k1", null, null, null, 1, T0, """{"v":1}"""),
    ];

    public static Task<HttpResponseMessage> AskAsync(HttpClient client, object body) =>
        client.PostAsJsonAsync("/api/v1/online-insights", body);

    public static async Task<JsonElement> OkAsync(HttpClient client, object body)
    {
        var response = await AskAsync(client, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Receives until a message arrives or <paramref name="seconds"/> pass.</summary>
    public static async Task<List<Delivery>> ReceiveAsync(QueueClient client, int seconds = 10)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var batch = await client.ReceiveAsync(max: 10, wait: 1);
            if (batch.Count > 0 || DateTime.UtcNow > deadline)
            {
                return batch;
            }
        }
    }
}

[Collection(OnlineInsightsHost.Name)]
public sealed class OnlineInsightsTests(OnlineInsightsFixture host)
{
    /// <summary>The columns the default live query returns.</summary>
    private static System.Text.Json.Nodes.JsonArray LiveFields() =>
        [FakeBigQuery.Field("id", "STRING"), FakeBigQuery.Field("key", "STRING"), FakeBigQuery.Field("payload", "JSON"), FakeBigQuery.Field("version", "INTEGER"), FakeBigQuery.Field("updated_at", "TIMESTAMP")];

    private async Task<string> TenantWithModelsAsync(string store = "main")
    {
        var id = await host.TenantAsync(store);
        await StoredModels.StoreAsync(host.StoreConnectionString(store), id, OnlineScenario.Models(id));
        return id;
    }

    [Theory]
    [InlineData("main")]
    [InlineData("store2")]
    public async Task Online_insight_answers_the_latest_version_that_matches_key_filter_and_dates(string store)
    {
        var id = await TenantWithModelsAsync(store);
        using var client = host.TenantClient(id);

        var november = await OnlineScenario.OkAsync(client, new { insight = Stored, key = "k1", filter = "filial=01", dateFrom = "2026-11-10", dateTo = "2026-11-20" });
        Assert.Equal(Stored, november.GetProperty("insight").GetString());
        Assert.Equal("k1", november.GetProperty("key").GetString());
        Assert.Equal("store", november.GetProperty("source").GetString());
        Assert.Equal(3, november.GetProperty("version").GetInt64());
        Assert.Equal(3, november.GetProperty("payload").GetProperty("v").GetInt32());
        Assert.Equal("2026-11-23T09:00:00Z", november.GetProperty("generatedAt").GetString());

        // Without dates every period counts; the deleted version 5 never does.
        Assert.Equal(7, (await OnlineScenario.OkAsync(client, new { insight = Stored, key = "k1", filter = "filial=01" })).GetProperty("version").GetInt64());
        Assert.Equal(7, (await OnlineScenario.OkAsync(client, new { insight = Stored, key = "k1", filter = "filial=01", dateFrom = "2026-12-15" })).GetProperty("version").GetInt64());
        Assert.Equal(3, (await OnlineScenario.OkAsync(client, new { insight = Stored, key = "k1", filter = "filial=01", dateTo = "2026-11-01" })).GetProperty("version").GetInt64());
        // Without a filter every filter counts.
        Assert.Equal(9, (await OnlineScenario.OkAsync(client, new { insight = Stored, key = "k1" })).GetProperty("version").GetInt64());
        // NULL dates are open-ended.
        var open = await OnlineScenario.OkAsync(client, new { insight = Stored, key = "k2", dateFrom = "2030-01-01", dateTo = "2030-01-31" });
        Assert.Equal(2, open.GetProperty("version").GetInt64());
        Assert.Equal("Previsão", open.GetProperty("payload").GetProperty("texto").GetString());
        // No key: the best of the insight.
        Assert.Equal(9, (await OnlineScenario.OkAsync(client, new { insight = Stored })).GetProperty("version").GetInt64());
    }

    [Fact]
    public async Task Online_insight_is_404_when_no_model_matches()
    {
        var id = await TenantWithModelsAsync();
        using var client = host.TenantClient(id);

        await Problem.AssertAsync(await OnlineScenario.AskAsync(client, new { insight = Stored, key = "nope" }), HttpStatusCode.NotFound);
        await Problem.AssertAsync(await OnlineScenario.AskAsync(client, new { insight = Stored, key = "k1", filter = "filial=01", dateFrom = "2027-01-01" }), HttpStatusCode.NotFound);
        await Problem.AssertAsync(await OnlineScenario.AskAsync(client, new { insight = Stored, key = "k1", filter = "filial=03" }), HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("""{"insight":"NoSuchInsight"}""", "insight")]
    [InlineData("""{"insight":"OnlineQuarterly","key":"k1"}""", "insight")]
    [InlineData("""{"key":"k1"}""", "insight")]
    [InlineData("""{"insight":"OnlineCash","dateFrom":"2026-13-01"}""", "dateFrom")]
    [InlineData("""{"insight":"OnlineCash","dateTo":"20261130"}""", "dateTo")]
    [InlineData("""{"insight":"OnlineCash","dateFrom":"2026-11-30","dateTo":"2026-11-01"}""", "dateTo")]
    [InlineData("""{"insight":"OnlineCash","parameters":{"tenantId":"other"}}""", "parameters")]
    [InlineData("""{"insight":"OnlineCash","parameters":{"a":{"nested":1}}}""", "parameters")]
    public async Task Online_insight_is_400_for_an_unknown_or_offline_insight_and_bad_fields(string body, string field)
    {
        var id = await TenantWithModelsAsync();
        using var client = host.TenantClient(id);
        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");

        var problem = await Problem.AssertAsync(await client.PostAsync("/api/v1/online-insights", content), HttpStatusCode.BadRequest);

        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Fact]
    public async Task Online_insight_needs_a_tenant_token()
    {
        await Problem.AssertAsync(await OnlineScenario.AskAsync(host.Factory.CreateClient(), new { insight = Stored }), HttpStatusCode.Unauthorized);
        await Problem.AssertAsync(await OnlineScenario.AskAsync(host.Admin, new { insight = Stored }), HttpStatusCode.Forbidden);
    }

    [Theory]
    [InlineData("main", "main")]
    [InlineData("main", "store2")]
    [InlineData("store2", "main")]
    public async Task A_tenant_never_sees_another_tenants_models(string storeA, string storeB)
    {
        var a = await TenantWithModelsAsync(storeA);
        var b = await host.TenantAsync(storeB);
        await StoredModels.StoreAsync(host.StoreConnectionString(storeB), b,
            new StoredModel(b + "-only", Stored, "b-only", null, null, null, 42, OnlineScenario.T0, """{"secret":"b"}"""));
        using var clientA = host.TenantClient(a);
        using var clientB = host.TenantClient(b);

        await Problem.AssertAsync(await OnlineScenario.AskAsync(clientA, new { insight = Stored, key = "b-only" }), HttpStatusCode.NotFound);
        await Problem.AssertAsync(await OnlineScenario.AskAsync(clientB, new { insight = Stored, key = "k1" }), HttpStatusCode.NotFound);
        Assert.Equal(42, (await OnlineScenario.OkAsync(clientB, new { insight = Stored })).GetProperty("version").GetInt64());
        Assert.Equal(9, (await OnlineScenario.OkAsync(clientA, new { insight = Stored })).GetProperty("version").GetInt64());
    }

    [Theory]
    [InlineData("main")]
    [InlineData("store2")]
    public async Task A_request_through_the_queue_gets_exactly_one_high_priority_response_with_its_id(string store)
    {
        var id = await TenantWithModelsAsync(store);
        using var client = new QueueClient(null!, id, host.TenantClient(id));

        var sent = await client.Http.PostAsJsonAsync("/api/v1/smartlink/messages", new
        {
            type = "OnlineInsightRequest",
            data = new { insight = Stored, key = "k1", filter = "filial=01", dateFrom = "2026-11-10", dateTo = "2026-11-20" },
        });
        Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
        var requestId = (await sent.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        var received = await OnlineScenario.ReceiveAsync(client);
        var response = Assert.Single(received);
        Assert.Equal("OnlineInsightResponse", response.Message.GetProperty("type").GetString());
        Assert.Equal("high", response.Message.GetProperty("priority").GetString());
        Assert.Equal(id, response.Message.GetProperty("tenantId").GetString());
        var data = response.Message.GetProperty("data");
        Assert.Equal(requestId, data.GetProperty("requestId").GetGuid());
        Assert.Equal("ok", data.GetProperty("status").GetString());
        Assert.Equal(Stored, data.GetProperty("insight").GetString());
        Assert.Equal("k1", data.GetProperty("key").GetString());
        Assert.Equal("store", data.GetProperty("source").GetString());
        Assert.Equal(3, data.GetProperty("version").GetInt64());
        Assert.Equal(3, data.GetProperty("payload").GetProperty("v").GetInt32());
        Assert.Equal("2026-11-23T09:00:00Z", data.GetProperty("generatedAt").GetString());
        Assert.False(data.TryGetProperty("detail", out _));
        await client.AckAsync(response.Receipt);

        await Task.Delay(500);
        Assert.Empty(await client.ReceiveAsync(wait: 1));
    }

    [Theory]
    [InlineData("""{"insight":"OnlineCash","key":"nope"}""", "not_found")]
    [InlineData("""{"insight":"NoSuchInsight"}""", "error")]
    [InlineData("""{"insight":"OnlineQuarterly"}""", "error")]
    public async Task A_request_through_the_queue_that_cannot_be_answered_gets_a_status_and_a_detail(string data, string status)
    {
        var id = await TenantWithModelsAsync();
        using var client = new QueueClient(null!, id, host.TenantClient(id));
        using var content = new StringContent($$"""{"type":"OnlineInsightRequest","data":{{data}}}""", System.Text.Encoding.UTF8, "application/json");
        var sent = await client.Http.PostAsync("/api/v1/smartlink/messages", content);
        Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
        var requestId = (await sent.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        var response = Assert.Single(await OnlineScenario.ReceiveAsync(client));
        var answer = response.Message.GetProperty("data");
        Assert.Equal(requestId, answer.GetProperty("requestId").GetGuid());
        Assert.Equal(status, answer.GetProperty("status").GetString());
        Assert.False(string.IsNullOrEmpty(answer.GetProperty("detail").GetString()));
        Assert.Equal(JsonValueKind.Null, answer.GetProperty("payload").ValueKind);
        Assert.Equal("high", response.Message.GetProperty("priority").GetString());
    }

    [Theory]
    [InlineData("""{"key":"k1"}""", "data.insight")]
    [InlineData("""{"insight":"OnlineCash","dateFrom":"30/11/2026"}""", "data.dateFrom")]
    [InlineData("""{"insight":"OnlineCash","key":12}""", "data.key")]
    [InlineData("""{"insight":"OnlineCash","dateFrom":"2026-11-30","dateTo":"2026-11-01"}""", "data.dateTo")]
    public async Task A_malformed_request_through_the_queue_is_refused_field_by_field_and_answered_by_nothing(string data, string field)
    {
        var id = await TenantWithModelsAsync();
        using var client = new QueueClient(null!, id, host.TenantClient(id));
        using var content = new StringContent($$"""{"type":"OnlineInsightRequest","data":{{data}}}""", System.Text.Encoding.UTF8, "application/json");
        var sent = await client.Http.PostAsync("/api/v1/smartlink/messages", content);

        var problem = await Problem.AssertAsync(sent, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
        Assert.Empty(await client.ReceiveAsync(wait: 1));
    }

    [Fact]
    public async Task A_redelivered_queue_request_is_answered_once()
    {
        var id = await TenantWithModelsAsync();
        using var client = new QueueClient(null!, id, host.TenantClient(id));
        var bus = host.Factory.Services.GetRequiredService<IBus>();
        var requestId = Guid.CreateVersion7();
        var data = JsonSerializer.Serialize(new { insight = Stored, key = "k2" });

        await bus.Publish(new OnlineInsightRequested(id, requestId, data));
        await bus.Publish(new OnlineInsightRequested(id, requestId, data));

        var first = Assert.Single(await OnlineScenario.ReceiveAsync(client));
        Assert.Equal(requestId, first.Message.GetProperty("data").GetProperty("requestId").GetGuid());
        await Task.Delay(1000);
        Assert.Empty(await client.ReceiveAsync(wait: 1));
    }

    [Fact]
    public async Task A_live_insight_is_answered_by_a_bigquery_query_with_the_tenant_only_as_a_parameter()
    {
        var id = await host.TenantAsync();
        using var client = host.TenantClient(id);
        var generatedAt = new DateTimeOffset(2026, 11, 23, 11, 30, 0, TimeSpan.Zero);
        var queries = new List<FakeQueryRequest>();
        host.BigQuery.OnQuery = request =>
        {
            lock (queries)
            {
                queries.Add(request);
            }

            return new FakeResult
            {
                Fields = LiveFields(),
                Rows = [FakeBigQuery.Row("live-1", "k1", """{"live":true}""", "11", request.UseInt64Timestamp ? FakeBigQuery.Micros(generatedAt) : FakeBigQuery.FloatSeconds(generatedAt))],
            };
        };

        var answer = await OnlineScenario.OkAsync(client, new { insight = Live, key = "k1", dateFrom = "2026-11-01", parameters = new { filial = "01" } });

        Assert.Equal("bigquery", answer.GetProperty("source").GetString());
        Assert.Equal(11, answer.GetProperty("version").GetInt64());
        Assert.True(answer.GetProperty("payload").GetProperty("live").GetBoolean());
        Assert.Equal("2026-11-23T11:30:00Z", answer.GetProperty("generatedAt").GetString());
        var query = Assert.Single(queries);
        Assert.DoesNotContain(id, query.Sql, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("@tenantId", query.Sql, StringComparison.Ordinal);
        Assert.Contains(Table, query.Sql, StringComparison.Ordinal);
        Assert.Equal(("STRING", id), query.Parameters["tenantId"]);
        Assert.Equal(("STRING", Live), query.Parameters["insight"]);
        Assert.Equal(("STRING", "k1"), query.Parameters["key"]);
        Assert.Equal(("DATE", "2026-11-01"), query.Parameters["dateFrom"]);
        Assert.Null(query.Parameters["dateTo"].Value);
        // The default template names no request parameter, so none is bound.
        Assert.False(query.Parameters.ContainsKey("filial"));
        Assert.Equal("Bearer online-token", host.BigQuery.Queries[^1].Header("Authorization"));

        // No row: 404; a failing source: 502.
        host.BigQuery.OnQuery = _ => new FakeResult { Fields = [FakeBigQuery.Field("id", "STRING")] };
        await Problem.AssertAsync(await OnlineScenario.AskAsync(client, new { insight = Live, key = "k1" }), HttpStatusCode.NotFound);
        host.BigQuery.FailNext(FakeCall.Query, 400, "invalidQuery", "Syntax error", times: 5);
        var failed = await Problem.AssertAsync(await OnlineScenario.AskAsync(client, new { insight = Live, key = "k1" }), HttpStatusCode.BadGateway);
        Assert.DoesNotContain("Syntax", failed.GetProperty("detail").GetString()!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Live_answers_waiting_on_the_source_never_hold_up_lookups_in_the_store()
    {
        var id = await TenantWithModelsAsync();
        using var client = host.TenantClient(id);
        host.BigQuery.OnQuery = _ => new FakeResult
        {
            Fields = LiveFields(),
            Rows = [FakeBigQuery.Row("live-1", "k1", "{}", "1", FakeBigQuery.Micros(OnlineScenario.T0))],
        };

        // Twice as many live requests as this host runs stored lookups at once, each held by the source.
        const int held = 4;
        var before = host.BigQuery.Queries.Count;
        for (var i = 0; i < held; i++)
        {
            host.BigQuery.DelayNext(FakeCall.Query, TimeSpan.FromSeconds(4));
        }

        var live = Enumerable.Range(0, held).Select(_ => OnlineScenario.OkAsync(client, new { insight = Live, key = "k1" })).ToArray();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (host.BigQuery.Queries.Count < before + held)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{host.BigQuery.Queries.Count - before} of {held} live requests reached the source together.");
            await Task.Delay(20);
        }

        var stored = await OnlineScenario.OkAsync(client, new { insight = Stored, key = "k2" });

        Assert.Equal(2, stored.GetProperty("version").GetInt64());
        Assert.DoesNotContain(live, t => t.IsCompleted);
        foreach (var answer in await Task.WhenAll(live))
        {
            Assert.Equal("bigquery", answer.GetProperty("source").GetString());
        }
    }

    [Fact]
    public async Task A_lookup_the_worker_cannot_run_is_a_502_problem_not_an_unexpected_error()
    {
        var id = await TenantWithModelsAsync();
        using var client = host.TenantClient(id);
        // The store breaks under the worker: its lookup fails and the request faults.
        await StoredModels.BreakAsync(host.Database.ConnectionString, id);

        var problem = await Problem.AssertAsync(await OnlineScenario.AskAsync(client, new { insight = Stored, key = "k1" }), HttpStatusCode.BadGateway);

        Assert.DoesNotContain("insight_models", problem.GetProperty("detail").GetString()!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_request_through_the_queue_whose_lookup_fails_gets_its_one_error_answer()
    {
        var id = await TenantWithModelsAsync();
        using var client = new QueueClient(null!, id, host.TenantClient(id));
        await StoredModels.BreakAsync(host.Database.ConnectionString, id);

        var sent = await client.Http.PostAsJsonAsync("/api/v1/smartlink/messages", new { type = "OnlineInsightRequest", data = new { insight = Stored, key = "k1" } });
        Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
        var requestId = (await sent.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        var response = Assert.Single(await OnlineScenario.ReceiveAsync(client));
        var answer = response.Message.GetProperty("data");
        Assert.Equal(requestId, answer.GetProperty("requestId").GetGuid());
        Assert.Equal("error", answer.GetProperty("status").GetString());
        var detail = answer.GetProperty("detail").GetString()!;
        Assert.DoesNotContain("insight_models", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("42P01", detail, StringComparison.Ordinal);
        await client.AckAsync(response.Receipt);
        Assert.Empty(await client.ReceiveAsync(wait: 1));
    }
}
