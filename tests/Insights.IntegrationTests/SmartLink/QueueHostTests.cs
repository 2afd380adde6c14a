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

/// <summary>Queue behaviour that needs hosts of its own: rate limits, stopping mid-receive, retention.</summary>
public sealed class QueueHostTests : OwnDatabaseTests
{
    private InsightsFactory Host(Action<Dictionary<string, string?>>? change = null)
    {
        var settings = InsightsFactory.Settings(Authority, Database);
        change?.Invoke(settings);
        return new InsightsFactory(settings);
    }

    private async Task<string> ProvisionAsync(InsightsFactory factory)
    {
        var id = InsightsFixture.NewTenantId("q");
        using var admin = factory.ClientWithToken(Authority.AdminToken());
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/tenants", new { id, name = id })).StatusCode);
        return id;
    }

    private static async Task<Guid> EnqueueAsync(InsightsFactory factory, string tenantId, string text)
    {
        var tenant = (await factory.Services.GetRequiredService<TenantDirectory>().FindAsync(tenantId, CancellationToken.None))!;
        var message = OutgoingMessage.Create("InsightModel", MessagePriority.Normal, JsonSerializer.Serialize(new { text }));
        await factory.Services.GetRequiredService<QueueWriter>().EnqueueAsync(factory.Services.GetRequiredService<TenantDatabases>(), tenant, [message], CancellationToken.None);
        return message.Id;
    }

    [Fact]
    public async Task A_tenant_over_its_rate_gets_429_with_retry_after_and_other_tenants_are_unaffected()
    {
        await using var factory = Host(s =>
        {
            s["SmartLink:RateLimitBurst"] = "3";
            s["SmartLink:RateLimitPermitsPerSecond"] = "1";
        });
        var busy = await ProvisionAsync(factory);
        var quiet = await ProvisionAsync(factory);
        using var client = factory.ClientWithToken(Authority.TenantToken(busy));

        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? limited = null;
        for (var i = 0; i < 6; i++)
        {
            var response = await client.PostAsJsonAsync("/api/v1/smartlink/receive", new { });
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                limited = response;
            }
        }

        Assert.Contains(HttpStatusCode.OK, statuses);
        Assert.NotNull(limited);
        await Problem.AssertAsync(limited, HttpStatusCode.TooManyRequests);
        Assert.True(int.Parse(limited.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture) >= 1);

        using var other = factory.ClientWithToken(Authority.TenantToken(quiet));
        Assert.Equal(HttpStatusCode.OK, (await other.PostAsJsonAsync("/api/v1/smartlink/receive", new { })).StatusCode);
    }

    [Fact]
    public async Task Nothing_is_lost_when_a_host_stops_in_the_middle_of_receives()
    {
        string tenantId;
        Guid leasedId;
        await using (var doomed = Host())
        {
            tenantId = await ProvisionAsync(doomed);
            leasedId = await EnqueueAsync(doomed, tenantId, "leased when the host died");
            using var client = doomed.ClientWithToken(Authority.TenantToken(tenantId));
            // One receive leased a message whose client never acks; another is waiting when the host stops. The lease is
            // long, so it cannot expire on its own however slow the machine: the test ends it below, when it chooses.
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/v1/smartlink/receive", new { visibilityTimeoutSeconds = 3600 })).StatusCode);
            var waiting = client.PostAsJsonAsync("/api/v1/smartlink/receive", new { waitSeconds = 20 });
            await Task.Delay(300);
            await doomed.DisposeAsync();
            await Assert.ThrowsAnyAsync<Exception>(async () => (await waiting).EnsureSuccessStatusCode());
        }

        await using var survivor = Host();
        var afterStop = await EnqueueAsync(survivor, tenantId, "enqueued after the stop");
        using var receiver = survivor.ClientWithToken(Authority.TenantToken(tenantId));
        var first = await (await receiver.PostAsJsonAsync("/api/v1/smartlink/receive", new { })).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal([afterStop], first.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("message").GetProperty("id").GetGuid()));

        // The dead host's lease runs out: the message is visible again, delivered a second time.
        await ExpireLeaseAsync(survivor, tenantId, leasedId);
        var again = await (await receiver.PostAsJsonAsync("/api/v1/smartlink/receive", new { })).Content.ReadFromJsonAsync<JsonElement>();
        var redelivered = Assert.Single(again.GetProperty("messages").EnumerateArray());
        Assert.Equal(leasedId, redelivered.GetProperty("message").GetProperty("id").GetGuid());
        Assert.Equal(2, redelivered.GetProperty("deliveryCount").GetInt32());
    }

    /// <summary>Ends a lease now, as if its visibility timeout had passed.</summary>
    private static async Task ExpireLeaseAsync(InsightsFactory factory, string tenantId, Guid messageId)
    {
        var schema = SchemaName.ForTenant(tenantId);
        await using var command = factory.Services.GetRequiredService<CatalogDatabase>().CreateCommand(
            $"UPDATE {schema.Quoted}.queue_messages SET visible_at = now() WHERE id = $1 AND status = 'leased'");
        command.Parameters.Add(new NpgsqlParameter { Value = messageId });
        Assert.Equal(1, await command.ExecuteNonQueryAsync());
    }

    [Fact]
    public async Task Acked_messages_are_purged_after_the_retention_and_dead_ones_are_kept()
    {
        await using var factory = Host(s =>
        {
            s["SmartLink:AckedRetention"] = "00:00:01";
            s["SmartLink:PurgeInterval"] = "1.00:00:00";
        });
        var tenantId = await ProvisionAsync(factory);
        await EnqueueAsync(factory, tenantId, "acked");
        await EnqueueAsync(factory, tenantId, "dead");
        using var client = factory.ClientWithToken(Authority.TenantToken(tenantId));
        var received = await (await client.PostAsJsonAsync("/api/v1/smartlink/receive", new { })).Content.ReadFromJsonAsync<JsonElement>();
        var receipts = received.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("receipt").GetString()).ToList();
        await client.PostAsJsonAsync("/api/v1/smartlink/ack", new { receipts = new[] { receipts[0] } });
        await client.PostAsJsonAsync("/api/v1/smartlink/nack", new { receipt = receipts[1], reason = "kept for the admins" });
        await Task.Delay(1200);

        await factory.Services.GetRequiredService<QueuePurgeService>().PurgeOnceAsync(CancellationToken.None);

        using var admin = factory.ClientWithToken(Authority.AdminToken());
        var left = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{tenantId}/messages");
        var statuses = left.GetProperty("items").EnumerateArray().Select(m => m.GetProperty("status").GetString()).ToList();
        Assert.Equal(["dead"], statuses);
    }
}
