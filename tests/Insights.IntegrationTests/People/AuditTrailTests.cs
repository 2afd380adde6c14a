using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Insights.Audit;
using Insights.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Insights.IntegrationTests.People;

/// <summary>Every state-changing call is audited with who, from where and how it ended; admins read it through the API.</summary>
[Collection(SharedHost.Name)]
public sealed class AuditTrailTests(InsightsFixture host)
{
    private static async Task<List<JsonElement>> ItemsAsync(HttpClient client, string query)
    {
        var response = await client.GetAsync("/api/v1/audit?" + query);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var page = await response.Content.ReadFromJsonAsync<JsonElement>();
        return [.. page.GetProperty("items").EnumerateArray()];
    }

    [Fact]
    public async Task Calls_are_audited_with_who_how_and_from_where_and_read_newest_first()
    {
        var tenantId = InsightsFixture.NewTenantId("audit");
        using var admin = host.Factory.ClientWithToken(host.Authority.PersonToken(TestAuthority.AdminRole, "ana-" + tenantId, "Ana Admin"));
        using var @operator = host.Factory.ClientWithToken(host.Authority.PersonToken(TestAuthority.OperatorRole, "otto-" + tenantId, "Otto Operator"));

        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/tenants", new { id = tenantId, name = "Audited" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await @operator.PatchAsJsonAsync($"/api/v1/tenants/{tenantId}", new { status = "suspended" })).StatusCode);
        // Sent as a server gets it from a client at 203.0.113.7.
        var viewerToken = host.Authority.PersonToken(TestAuthority.ViewerRole, "vera-" + tenantId, "Vera Viewer");
        var refusedDelete = await host.Factory.Server.SendAsync(c =>
        {
            c.Request.Method = "DELETE";
            c.Request.Path = $"/api/v1/tenants/{tenantId}";
            c.Request.Headers.Authorization = "Bearer " + viewerToken;
            c.Connection.RemoteIpAddress = IPAddress.Parse("203.0.113.7");
        });
        Assert.Equal(StatusCodes.Status403Forbidden, refusedDelete.Response.StatusCode);
        var refused = await Problem.AssertAsync(await @operator.PostAsync($"/api/v1/tenants/{tenantId}/ingestions", null), HttpStatusCode.Conflict);

        var items = await ItemsAsync(host.Admin, $"tenant={tenantId}");
        Assert.Equal(
            ["ingestion.start rejected", "tenant.deprovision forbidden", "tenant.suspend succeeded", "tenant.provision succeeded"],
            items.Select(i => $"{i.GetProperty("action").GetString()} {i.GetProperty("outcome").GetString()}"));
        Assert.Equal(
            [$"otto-{tenantId} Otto Operator insights-operator", $"vera-{tenantId} Vera Viewer insights-viewer",
             $"otto-{tenantId} Otto Operator insights-operator", $"ana-{tenantId} Ana Admin insights-admin"],
            items.Select(i => $"{i.GetProperty("subject").GetString()} {i.GetProperty("name").GetString()} {i.GetProperty("role").GetString()}"));
        Assert.All(items, i => Assert.Equal(tenantId, i.GetProperty("tenantId").GetString()));
        Assert.All(items, i => Assert.False(string.IsNullOrEmpty(i.GetProperty("requestId").GetString())));
        Assert.Equal("203.0.113.7", items[1].GetProperty("clientAddress").GetString());
        Assert.Contains("suspended", items[0].GetProperty("detail").GetString(), StringComparison.Ordinal);
        // The record of a refused call names the request the caller was told about.
        Assert.Equal(refused.GetProperty("traceId").GetString(), items[0].GetProperty("requestId").GetString());
        var times = items.Select(i => i.GetProperty("at").GetDateTimeOffset()).ToList();
        Assert.Equal(times.OrderByDescending(t => t), times);

        // Filters.
        Assert.Equal(2, (await ItemsAsync(host.Admin, $"subject=otto-{tenantId}")).Count);
        Assert.Single(await ItemsAsync(host.Admin, $"tenant={tenantId}&action=tenant.provision"));
        Assert.Single(await ItemsAsync(host.Admin, $"subject=vera-{tenantId}&action=tenant.deprovision"));
        Assert.Empty(await ItemsAsync(host.Admin, $"tenant={tenantId}&since={Uri.EscapeDataString(times[0].AddSeconds(1).ToString("O"))}"));
        Assert.Empty(await ItemsAsync(host.Admin, $"tenant={tenantId}&until={Uri.EscapeDataString(times[^1].ToString("O"))}"));
        Assert.Equal(4, (await ItemsAsync(host.Admin, $"tenant={tenantId}&since={Uri.EscapeDataString(times[^1].ToString("O"))}")).Count);

        // Pages of one walk the same records in the same order.
        var walked = new List<long>();
        string? cursor = null;
        do
        {
            var page = await host.Admin.GetFromJsonAsync<JsonElement>($"/api/v1/audit?tenant={tenantId}&limit=1" + (cursor is null ? "" : "&cursor=" + cursor));
            walked.AddRange(page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetInt64()));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);
        Assert.Equal(items.Select(i => i.GetProperty("id").GetInt64()), walked);
    }

    [Fact]
    public async Task Only_admins_read_the_audit_and_bad_queries_are_400()
    {
        foreach (var role in new[] { TestAuthority.OperatorRole, TestAuthority.ViewerRole })
        {
            using var client = host.Factory.ClientWithToken(host.Authority.PersonToken(role, "reader"));
            await Problem.AssertAsync(await client.GetAsync("/api/v1/audit"), HttpStatusCode.Forbidden);
        }

        foreach (var query in new[]
        {
            "limit=0", "limit=501", "cursor=not-a-cursor", "cursor=" + Uri.EscapeDataString("bW9yZQ"),
            "since=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z", "since=yesterday", "tenant=", "subject=" + new string('s', 201),
            "action=tenant%01provision",
        })
        {
            await Problem.AssertAsync(await host.Admin.GetAsync("/api/v1/audit?" + query), HttpStatusCode.BadRequest);
        }
    }

    [Fact]
    public async Task Retention_deletes_what_expired_and_keeps_the_rest()
    {
        var tenantId = InsightsFixture.NewTenantId("kept");
        await using (var db = host.Database.CreateDataSource())
        {
            await using var insert = db.CreateCommand(
                """
                INSERT INTO catalog.audit_log (at, subject, action, tenant_id, outcome)
                SELECT now() - make_interval(days => d), 'retention', 'tenant.update', $1, 'succeeded' FROM unnest(ARRAY[1, 399, 401, 800]) d
                """);
            insert.Parameters.AddWithValue(tenantId);
            await insert.ExecuteNonQueryAsync();
        }

        var deleted = await host.Factory.Services.GetRequiredService<AuditTrail>().TrimAsync(TimeSpan.FromDays(400), CancellationToken.None);

        Assert.True(deleted >= 2);
        var kept = await ItemsAsync(host.Admin, $"tenant={tenantId}");
        Assert.Equal(2, kept.Count);
        Assert.All(kept, i => Assert.True(i.GetProperty("at").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddDays(-400)));
    }
}
