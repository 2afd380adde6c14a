using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Insights.IntegrationTests.Infrastructure;
using Insights.SmartLink;

namespace Insights.IntegrationTests.SmartLink;

[Collection(SharedHost.Name)]
public sealed class QueueTests(InsightsFixture host)
{
    private async Task<QueueClient> NewClientAsync(string store = "main") => new(host, await host.CreateTenantAsync(store: store));

    [Theory]
    [InlineData("main")]
    [InlineData("store2")]
    public async Task Receive_returns_messages_in_fifo_order_within_a_priority_with_the_envelope(string store)
    {
        using var client = await NewClientAsync(store);
        var ids = await client.EnqueueAsync("one", "two", "three");

        var deliveries = await client.ReceiveAsync();

        Assert.Equal(ids, deliveries.Select(d => d.Id));
        Assert.Equal(["one", "two", "three"], deliveries.Select(d => d.Text));
        Assert.All(deliveries, d => Assert.Equal(1, d.DeliveryCount));
        var envelope = deliveries[0].Message;
        Assert.Equal("1.0", envelope.GetProperty("specversion").GetString());
        Assert.Equal("InsightModel", envelope.GetProperty("type").GetString());
        Assert.Equal(client.TenantId, envelope.GetProperty("tenantId").GetString());
        Assert.Equal($"/insights/tenants/{client.TenantId}", envelope.GetProperty("source").GetString());
        Assert.Equal("application/json", envelope.GetProperty("datacontenttype").GetString());
        Assert.Equal("normal", envelope.GetProperty("priority").GetString());
        Assert.True(envelope.GetProperty("time").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(-5));
    }

    [Fact]
    public async Task Receive_returns_high_priority_messages_first()
    {
        using var client = await NewClientAsync();
        await client.EnqueueAsync(("n1", MessagePriority.Normal), ("h1", MessagePriority.High), ("n2", MessagePriority.Normal), ("h2", MessagePriority.High));

        var deliveries = await client.ReceiveAsync(max: 3);

        Assert.Equal(["h1", "h2", "n1"], deliveries.Select(d => d.Text));
        Assert.Equal("high", deliveries[0].Message.GetProperty("priority").GetString());
        Assert.Equal(["n2"], (await client.ReceiveAsync()).Select(d => d.Text));
    }

    [Theory]
    [InlineData("main")]
    [InlineData("store2")]
    public async Task Concurrent_receivers_never_get_the_same_message(string store)
    {
        using var client = await NewClientAsync(store);
        const int count = 600;
        await client.EnqueueAsync(Enumerable.Range(0, count).Select(i => "m" + i).ToArray());

        var seen = new ConcurrentBag<Guid>();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            using var worker = new QueueClient(host, client.TenantId);
            while (true)
            {
                var batch = await worker.ReceiveAsync(max: 7);
                if (batch.Count == 0)
                {
                    return;
                }

                foreach (var delivery in batch)
                {
                    seen.Add(delivery.Id);
                }

                var (acked, rejected) = await worker.AckAsync(batch.Select(d => d.Receipt).ToArray());
                Assert.Equal(batch.Count, acked);
                Assert.Empty(rejected);
            }
        }));

        Assert.Equal(count, seen.Count);
        Assert.Equal(count, seen.Distinct().Count());
    }

    [Theory]
    [InlineData("main")]
    [InlineData("store2")]
    public async Task An_expired_lease_redelivers_with_a_higher_delivery_count_and_the_old_receipt_is_rejected(string store)
    {
        using var client = await NewClientAsync(store);
        await client.EnqueueAsync("again");

        var first = Assert.Single(await client.ReceiveAsync(visibility: 1));
        Assert.Empty(await client.ReceiveAsync());
        await Task.Delay(1200);
        var second = Assert.Single(await client.ReceiveAsync(visibility: 30));

        Assert.Equal(first.Id, second.Id);
        Assert.Equal(2, second.DeliveryCount);
        Assert.NotEqual(first.Receipt, second.Receipt);

        var stale = await client.AckAsync(first.Receipt);
        Assert.Equal(0, stale.Acked);
        Assert.Equal([first.Receipt], stale.Rejected);

        var fresh = await client.AckAsync(second.Receipt);
        Assert.Equal(1, fresh.Acked);
        Assert.Equal(1, (await client.AckAsync(second.Receipt)).Acked);
        Assert.Empty(await client.ReceiveAsync());
    }

    [Fact]
    public async Task A_receipt_whose_lease_expired_cannot_ack_even_before_redelivery()
    {
        using var client = await NewClientAsync();
        await client.EnqueueAsync("late");
        var delivery = Assert.Single(await client.ReceiveAsync(visibility: 1));
        await Task.Delay(1200);

        var result = await client.AckAsync(delivery.Receipt);
        Assert.Equal(0, result.Acked);
        Assert.Equal(2, Assert.Single(await client.ReceiveAsync()).DeliveryCount);
    }

    [Fact]
    public async Task After_max_deliveries_a_message_is_dead_with_MaxDeliveriesExceeded()
    {
        using var client = await NewClientAsync();
        var id = Assert.Single(await client.EnqueueAsync("poison"));

        for (var delivery = 1; delivery <= 3; delivery++)
        {
            Assert.Equal(delivery, Assert.Single(await client.ReceiveAsync(visibility: 1)).DeliveryCount);
            await Task.Delay(1100);
        }

        Assert.Empty(await client.ReceiveAsync());
        var message = await host.Admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{client.TenantId}/messages/{id}");
        Assert.Equal("dead", message.GetProperty("status").GetString());
        Assert.Equal("MaxDeliveriesExceeded", message.GetProperty("deadReason").GetString());
        var events = message.GetProperty("history").EnumerateArray().Select(e => e.GetProperty("event").GetString()).ToList();
        Assert.Equal(["expired", "expired", "expired", "dead"], events);
        Assert.Equal(3, message.GetProperty("deliveryCount").GetInt32());
        Assert.NotEqual(JsonValueKind.Null, message.GetProperty("lastLeasedAt").ValueKind);
    }

    [Theory]
    [InlineData("main")]
    [InlineData("store2")]
    public async Task Nack_dead_letters_with_the_reason_and_redrive_makes_it_ready_again(string store)
    {
        using var client = await NewClientAsync(store);
        var id = Assert.Single(await client.EnqueueAsync("bad"));
        var delivery = Assert.Single(await client.ReceiveAsync());

        var nack = await client.Http.PostAsJsonAsync("/api/v1/smartlink/nack", new { receipt = delivery.Receipt, reason = "I20 has no configuration for this insight", requeue = false });
        Assert.Equal(HttpStatusCode.OK, nack.StatusCode);
        Assert.Equal("dead", (await nack.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        Assert.Empty(await client.ReceiveAsync());

        var dead = await host.Admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{client.TenantId}/messages?status=dead");
        var summary = Assert.Single(dead.GetProperty("items").EnumerateArray());
        Assert.Equal(id, summary.GetProperty("id").GetGuid());
        Assert.Equal("I20 has no configuration for this insight", summary.GetProperty("deadReason").GetString());

        // A second nack with the same receipt changes nothing.
        await Problem.AssertAsync(
            await client.Http.PostAsJsonAsync("/api/v1/smartlink/nack", new { receipt = delivery.Receipt, reason = "again" }), HttpStatusCode.Conflict);

        var redrive = await host.Admin.PostAsJsonAsync($"/api/v1/tenants/{client.TenantId}/messages/dead-letters/redrive", new { messageIds = new[] { id } });
        Assert.Equal(1, (await redrive.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("redriven").GetInt32());
        var again = Assert.Single(await client.ReceiveAsync());
        Assert.Equal(id, again.Id);
        Assert.Equal(1, again.DeliveryCount);
    }

    [Fact]
    public async Task Nack_with_requeue_makes_the_message_visible_after_the_delay()
    {
        using var client = await NewClientAsync();
        await client.EnqueueAsync("retry");
        var delivery = Assert.Single(await client.ReceiveAsync());

        var nack = await client.Http.PostAsJsonAsync("/api/v1/smartlink/nack", new { receipt = delivery.Receipt, reason = "busy", requeue = true, delaySeconds = 1 });
        Assert.Equal("ready", (await nack.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        Assert.Empty(await client.ReceiveAsync());

        var watch = Stopwatch.StartNew();
        var redelivered = Assert.Single(await client.ReceiveAsync(wait: 5));
        Assert.InRange(watch.ElapsedMilliseconds, 300, 3000);
        Assert.Equal(2, redelivered.DeliveryCount);
    }

    [Fact]
    public async Task Lease_extension_keeps_the_message_invisible_and_the_receipt_valid()
    {
        using var client = await NewClientAsync();
        await client.EnqueueAsync("slow");
        var delivery = Assert.Single(await client.ReceiveAsync(visibility: 1));

        var extend = await client.Http.PostAsJsonAsync("/api/v1/smartlink/lease", new { receipts = new[] { delivery.Receipt }, visibilityTimeoutSeconds = 30 });
        Assert.Equal(1, (await extend.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("extended").GetInt32());
        await Task.Delay(1200);

        Assert.Empty(await client.ReceiveAsync());
        Assert.Equal(1, (await client.AckAsync(delivery.Receipt)).Acked);
    }

    [Theory]
    [InlineData("main")]
    [InlineData("store2")]
    public async Task A_long_poll_returns_within_100_ms_of_an_enqueue(string store)
    {
        using var client = await NewClientAsync(store);
        // Timed from the enqueue's commit; the best of three, so a busy machine does not decide. A poll that the
        // notification did not wake would wait out its 10 s.
        var answers = new List<long>();
        for (var attempt = 0; attempt < 3 && !answers.Any(ms => ms < 100); attempt++)
        {
            var receive = client.ReceiveAsync(wait: 10);
            await Task.Delay(300);
            Assert.False(receive.IsCompleted);

            await client.EnqueueAsync("wake up " + attempt);
            var watch = Stopwatch.StartNew();
            var deliveries = await receive;
            answers.Add(watch.ElapsedMilliseconds);

            Assert.Equal("wake up " + attempt, Assert.Single(deliveries).Text);
            await client.AckAsync(deliveries[0].Receipt);
        }

        Assert.True(answers.Min() < 100, $"The long poll answered {string.Join(", ", answers)} ms after the enqueues.");
        Assert.All(answers, ms => Assert.True(ms < 1000));
    }

    [Fact]
    public async Task A_long_poll_with_nothing_to_deliver_returns_empty_after_the_wait()
    {
        using var client = await NewClientAsync();
        var watch = Stopwatch.StartNew();
        Assert.Empty(await client.ReceiveAsync(wait: 1));
        Assert.InRange(watch.ElapsedMilliseconds, 900, 5000);
    }

    [Theory]
    [InlineData("main")]
    [InlineData("store2")]
    public async Task Another_tenants_receipts_and_message_ids_are_useless(string store)
    {
        using var owner = await NewClientAsync(store);
        using var intruder = await NewClientAsync();
        var id = Assert.Single(await owner.EnqueueAsync("secret"));
        var delivery = Assert.Single(await owner.ReceiveAsync());

        Assert.Empty(await intruder.ReceiveAsync());
        var ack = await intruder.AckAsync(delivery.Receipt);
        Assert.Equal(0, ack.Acked);
        Assert.Equal([delivery.Receipt], ack.Rejected);
        await Problem.AssertAsync(
            await intruder.Http.PostAsJsonAsync("/api/v1/smartlink/nack", new { receipt = delivery.Receipt, reason = "steal" }), HttpStatusCode.Conflict);
        var extend = await intruder.Http.PostAsJsonAsync("/api/v1/smartlink/lease", new { receipts = new[] { delivery.Receipt }, visibilityTimeoutSeconds = 1 });
        Assert.Equal(0, (await extend.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("extended").GetInt32());
        var status = await intruder.Http.PostAsJsonAsync("/api/v1/smartlink/messages",
            new { type = "InsightProcessingStatus", data = new { messageId = id, status = "processed" } });
        await Problem.AssertAsync(status, HttpStatusCode.BadRequest);

        // Admin routes of the intruder's tenant do not reach the owner's message either.
        await Problem.AssertAsync(await host.Admin.GetAsync($"/api/v1/tenants/{intruder.TenantId}/messages/{id}"), HttpStatusCode.NotFound);
        Assert.Equal(1, (await owner.AckAsync(delivery.Receipt)).Acked);
    }

    [Fact]
    public async Task Out_of_range_values_are_400_and_change_nothing()
    {
        using var client = await NewClientAsync();
        await client.EnqueueAsync("stay");
        foreach (var body in new object[]
        {
            new { max = 0 }, new { max = 101 }, new { visibilityTimeoutSeconds = 0 }, new { visibilityTimeoutSeconds = 43201 },
            new { waitSeconds = -1 }, new { waitSeconds = 21 },
        })
        {
            var problem = await Problem.AssertAsync(await client.Http.PostAsJsonAsync("/api/v1/smartlink/receive", body), HttpStatusCode.BadRequest);
            Assert.True(problem.TryGetProperty("errors", out _));
        }

        await Problem.AssertAsync(await client.Http.PostAsJsonAsync("/api/v1/smartlink/ack", new { receipts = Array.Empty<string>() }), HttpStatusCode.BadRequest);
        await Problem.AssertAsync(await client.Http.PostAsJsonAsync("/api/v1/smartlink/ack", new { receipts = Enumerable.Repeat("x", 101) }), HttpStatusCode.BadRequest);
        await Problem.AssertAsync(await client.Http.PostAsJsonAsync("/api/v1/smartlink/nack", new { receipt = "not-a-receipt", reason = "x" }), HttpStatusCode.BadRequest);
        await Problem.AssertAsync(await client.Http.PostAsync("/api/v1/smartlink/receive", new StringContent("{\"max\": \"ten\"}", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest);

        var ack = await client.AckAsync("garbage");
        Assert.Equal(["garbage"], ack.Rejected);
        Assert.Equal(1, Assert.Single(await client.ReceiveAsync()).DeliveryCount);
    }

    [Fact]
    public async Task Receive_with_an_empty_body_uses_the_defaults()
    {
        using var client = await NewClientAsync();
        await client.EnqueueAsync("default");
        var response = await client.Http.PostAsync("/api/v1/smartlink/receive", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("messages").EnumerateArray());
    }

    [Fact]
    public async Task An_oversized_message_is_413()
    {
        using var client = await NewClientAsync();
        var big = new string('x', 1024 * 1024 + 10);
        var response = await client.Http.PostAsJsonAsync("/api/v1/smartlink/messages", new { type = "OnlineInsightRequest", data = new { insight = "CashFlowForecast", big } });
        await Problem.AssertAsync(response, HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task Send_rejects_service_fields_and_unknown_types()
    {
        using var client = await NewClientAsync();
        await Problem.AssertAsync(await client.Http.PostAsJsonAsync("/api/v1/smartlink/messages",
            new { id = Guid.NewGuid(), type = "OnlineInsightRequest", data = new { insight = "X" } }), HttpStatusCode.BadRequest);
        await Problem.AssertAsync(await client.Http.PostAsJsonAsync("/api/v1/smartlink/messages",
            new { type = "Something", data = new { } }), HttpStatusCode.BadRequest);
        await Problem.AssertAsync(await client.Http.PostAsJsonAsync("/api/v1/smartlink/messages",
            new { type = "OnlineInsightRequest", data = "text" }), HttpStatusCode.BadRequest);
        var accepted = await client.Http.PostAsJsonAsync("/api/v1/smartlink/messages",
            new { specversion = "1.0", type = "OnlineInsightRequest", source = "/protheus/acme", data = new { insight = "CashFlowForecast" } });
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.NotEqual(Guid.Empty, (await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid());
    }

    [Fact]
    public async Task Processing_status_from_protheus_is_recorded_on_the_message()
    {
        using var client = await NewClientAsync();
        var id = Assert.Single(await client.EnqueueAsync("process me"));
        var delivery = Assert.Single(await client.ReceiveAsync());
        await client.AckAsync(delivery.Receipt);

        var sent = await client.Http.PostAsJsonAsync("/api/v1/smartlink/messages",
            new { type = "InsightProcessingStatus", data = new { messageId = id, status = "failed", detail = "I21 write failed" } });
        Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);

        var message = await host.Admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{client.TenantId}/messages/{id}");
        Assert.Equal("acked", message.GetProperty("status").GetString());
        Assert.Equal("failed", message.GetProperty("processing").GetProperty("status").GetString());
        Assert.Equal("I21 write failed", message.GetProperty("processing").GetProperty("detail").GetString());
        Assert.Equal("process me", message.GetProperty("envelope").GetProperty("data").GetProperty("text").GetString());
    }

    [Theory]
    [InlineData("main")]
    [InlineData("store2")]
    public async Task Admins_browse_resend_and_see_queue_depth_in_usage(string store)
    {
        using var client = await NewClientAsync(store);
        var ids = await client.EnqueueAsync("a", "b", "c");
        var delivery = (await client.ReceiveAsync(max: 1)).Single();
        await client.AckAsync(delivery.Receipt);
        await client.ReceiveAsync(max: 1);

        var page = await host.Admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{client.TenantId}/messages?limit=2");
        Assert.Equal(ids.Take(2), page.GetProperty("items").EnumerateArray().Select(m => m.GetProperty("id").GetGuid()));
        var next = await host.Admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{client.TenantId}/messages?limit=2&cursor={page.GetProperty("nextCursor").GetString()}");
        Assert.Equal([ids[2]], next.GetProperty("items").EnumerateArray().Select(m => m.GetProperty("id").GetGuid()));
        Assert.Equal(JsonValueKind.Null, next.GetProperty("nextCursor").ValueKind);
        var ofType = await host.Admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{client.TenantId}/messages?type=Nothing");
        Assert.Empty(ofType.GetProperty("items").EnumerateArray());

        var resend = await host.Admin.PostAsync($"/api/v1/tenants/{client.TenantId}/messages/{ids[0]}/resend", null);
        Assert.Equal(HttpStatusCode.Accepted, resend.StatusCode);
        var copyId = (await resend.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("messageId").GetGuid();
        Assert.NotEqual(ids[0], copyId);
        var copy = await host.Admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{client.TenantId}/messages/{copyId}");
        Assert.Equal("a", copy.GetProperty("envelope").GetProperty("data").GetProperty("text").GetString());
        Assert.Equal("ready", copy.GetProperty("status").GetString());

        var usage = await host.Admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{client.TenantId}/usage");
        var queue = usage.GetProperty("queue");
        Assert.Equal(2, queue.GetProperty("ready").GetInt64());
        Assert.Equal(1, queue.GetProperty("leased").GetInt64());
        Assert.Equal(1, queue.GetProperty("acked").GetInt64());

        await Problem.AssertAsync(await host.Admin.GetAsync($"/api/v1/tenants/{client.TenantId}/messages/{Guid.NewGuid()}"), HttpStatusCode.NotFound);
        await Problem.AssertAsync(await host.Admin.GetAsync($"/api/v1/tenants/{client.TenantId}/messages?status=lost"), HttpStatusCode.BadRequest);
        await Problem.AssertAsync(await host.Admin.GetAsync($"/api/v1/tenants/{client.TenantId}/messages/not-a-guid"), HttpStatusCode.NotFound);
        await Problem.AssertAsync(await host.Admin.GetAsync("/api/v1/tenants/nobody-here/messages"), HttpStatusCode.NotFound);
    }
}
