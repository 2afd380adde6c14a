using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Insights.Database;
using Insights.IntegrationTests.Infrastructure;
using Insights.SmartLink;
using Insights.Tenancy;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Insights.IntegrationTests.SmartLink;

public sealed record Delivery(string Receipt, int DeliveryCount, JsonElement Message)
{
    public Guid Id => Message.GetProperty("id").GetGuid();

    public string Text => Message.GetProperty("data").GetProperty("text").GetString()!;
}

/// <summary>A Protheus client of one tenant, and the service-side enqueue used to feed it.</summary>
public sealed class QueueClient(InsightsFixture host, string tenantId, HttpClient? http = null) : IDisposable
{
    public HttpClient Http { get; } = http ?? host.TenantClient(tenantId);

    public string TenantId => tenantId;

    public async Task<List<Guid>> EnqueueAsync(params (string Text, MessagePriority Priority)[] messages)
    {
        var services = host.Factory.Services;
        var tenant = (await services.GetRequiredService<TenantDirectory>().FindAsync(tenantId, CancellationToken.None))!;
        var outgoing = messages.Select(m => OutgoingMessage.Create("InsightModel", m.Priority, JsonSerializer.Serialize(new { text = m.Text }))).ToList();
        await services.GetRequiredService<QueueWriter>().EnqueueAsync(services.GetRequiredService<TenantDatabases>(), tenant, outgoing, CancellationToken.None);
        return outgoing.Select(o => o.Id).ToList();
    }

    public Task<List<Guid>> EnqueueAsync(params string[] texts) =>
        EnqueueAsync(texts.Select(t => (t, MessagePriority.Normal)).ToArray());

    public async Task<List<Delivery>> ReceiveAsync(int max = 10, int visibility = 60, int wait = 0)
    {
        var response = await Http.PostAsJsonAsync("/api/v1/smartlink/receive", new { max, visibilityTimeoutSeconds = visibility, waitSeconds = wait });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return body.GetProperty("messages").EnumerateArray()
            .Select(m => new Delivery(m.GetProperty("receipt").GetString()!, m.GetProperty("deliveryCount").GetInt32(), m.GetProperty("message").Clone()))
            .ToList();
    }

    public async Task<(int Acked, List<string> Rejected)> AckAsync(params string[] receipts)
    {
        var response = await Http.PostAsJsonAsync("/api/v1/smartlink/ack", new { receipts });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (body.GetProperty("acked").GetInt32(), body.GetProperty("rejected").EnumerateArray().Select(r => r.GetString()!).ToList());
    }

    public void Dispose() => Http.Dispose();
}
