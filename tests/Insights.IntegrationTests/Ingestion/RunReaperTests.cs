using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Insights.IntegrationTests.Infrastructure;
using Insights.Tenancy;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Insights.IntegrationTests.Ingestion;

/// <summary>No run stays queued for ever, and a redelivered event queues nothing twice.</summary>
public sealed class RunReaperTests : OwnDatabaseTests
{
    private string sourceFolder = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        sourceFolder = Directory.CreateTempSubdirectory("insights-reaper-").FullName;
    }

    public override async Task DisposeAsync()
    {
        Directory.Delete(sourceFolder, recursive: true);
        await base.DisposeAsync();
    }

    private InsightsFactory Host(string roles = "api,worker,scheduler", int maxResends = 3)
    {
        var settings = InsightsFactory.Settings(Authority, Database);
        settings["Roles"] = roles;
        settings["Ingestion:Interval"] = "1.00:00:00";
        settings["Ingestion:Local:Folder"] = sourceFolder;
        settings["Ingestion:ReaperInterval"] = "00:00:00.200";
        settings["Ingestion:ResendQueuedAfter"] = "00:00:01";
        settings["Ingestion:MaxResends"] = maxResends.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new InsightsFactory(settings);
    }

    private static async Task<string> ProvisionAsync(HttpClient admin)
    {
        var id = InsightsFixture.NewTenantId("rp");
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/tenants", new { id, name = id })).StatusCode);
        return id;
    }

    private static async Task<JsonElement> RunAsync(HttpClient admin, string tenantId, Guid runId, Func<string, bool> until)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var run = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{tenantId}/ingestions/{runId}");
            if (until(run.GetProperty("status").GetString()!))
            {
                return run;
            }

            Assert.True(DateTime.UtcNow < deadline, $"The run did not reach the expected state: {run}");
            await Task.Delay(50);
        }
    }

    private async Task<List<(Guid Id, string Trigger, string Status)>> RunsAsync(string tenantId)
    {
        await using var connection = new NpgsqlConnection(Database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT id, trigger, status FROM catalog.ingestion_runs WHERE tenant_id = $1 ORDER BY id", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        await using var reader = await command.ExecuteReaderAsync();
        var runs = new List<(Guid, string, string)>();
        while (await reader.ReadAsync())
        {
            runs.Add((reader.GetGuid(0), reader.GetString(1), reader.GetString(2)));
        }

        return runs;
    }

    private async Task WaitIdleAsync(string tenantId, int runs)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await RunsAsync(tenantId) is var all && (all.Count < runs || all.Any(r => r.Status is "queued" or "running")))
        {
            Assert.True(DateTime.UtcNow < deadline, "The tenant's runs did not finish.");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task A_queued_run_whose_command_was_lost_has_it_sent_again_and_completes()
    {
        await using var host = Host();
        using var admin = host.ClientWithToken(Authority.AdminToken());
        var tenantId = await ProvisionAsync(admin);
        await WaitIdleAsync(tenantId, runs: 1);

        // A run queued long ago whose command is nowhere: the in-memory bus of a node that died had it.
        var runId = Guid.CreateVersion7();
        await using (var connection = new NpgsqlConnection(Database.ConnectionString))
        {
            await connection.OpenAsync();
            await using var insert = new NpgsqlCommand(
                "INSERT INTO catalog.ingestion_runs (id, tenant_id, status, trigger, requested_at) VALUES ($1, $2, 'queued', 'admin', now() - interval '1 hour')", connection);
            insert.Parameters.Add(new NpgsqlParameter { Value = runId });
            insert.Parameters.Add(new NpgsqlParameter { Value = tenantId });
            await insert.ExecuteNonQueryAsync();
        }

        var run = await RunAsync(admin, tenantId, runId, status => status is "succeeded" or "failed");
        Assert.Equal("succeeded", run.GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_queued_run_no_worker_ever_starts_is_failed_after_its_resends_and_the_next_trigger_queues_a_new_one()
    {
        await using var host = Host(roles: "api,scheduler", maxResends: 1);
        using var admin = host.ClientWithToken(Authority.AdminToken());
        var tenantId = await ProvisionAsync(admin);
        var trigger = await admin.PostAsync($"/api/v1/tenants/{tenantId}/ingestions", null);
        Assert.Equal(HttpStatusCode.Accepted, trigger.StatusCode);
        var runId = (await trigger.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runId").GetGuid();

        var run = await RunAsync(admin, tenantId, runId, status => status != "queued");
        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.StartsWith("No worker started this run", run.GetProperty("error").GetString(), StringComparison.Ordinal);

        var next = await admin.PostAsync($"/api/v1/tenants/{tenantId}/ingestions", null);
        Assert.NotEqual(runId, (await next.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runId").GetGuid());
    }

    [Fact]
    public async Task A_trigger_that_joins_a_queued_scheduled_run_makes_it_its_own()
    {
        // No worker: the runs stay queued.
        await using var host = Host(roles: "api");
        using var admin = host.ClientWithToken(Authority.AdminToken());
        var tenantId = await ProvisionAsync(admin);
        var trigger = host.Services.GetRequiredService<Insights.Ingestion.IngestionTrigger>();
        var scheduled = await trigger.RequestAsync(tenantId, "schedule", CancellationToken.None);

        // A scheduled run that finds nothing leaves no row: the admin who joined it must still find it.
        var response = await admin.PostAsync($"/api/v1/tenants/{tenantId}/ingestions", null);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(scheduled.Id, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runId").GetGuid());
        Assert.Equal(scheduled.Id, (await trigger.RequestAsync(tenantId, "schedule", CancellationToken.None)).Id);
        Assert.Equal([(scheduled.Id, "admin", "queued")], await RunsAsync(tenantId));
    }

    [Fact]
    public async Task A_provisioning_event_delivered_twice_queues_one_first_run()
    {
        await using var host = Host();
        using var admin = host.ClientWithToken(Authority.AdminToken());
        var tenantId = await ProvisionAsync(admin);
        await WaitIdleAsync(tenantId, runs: 1);

        var bus = host.Services.GetRequiredService<IBus>();
        var consumed = new ConsumedCount<TenantProvisioned>();
        using var observing = bus.ConnectConsumeMessageObserver(consumed);
        var messageId = Guid.NewGuid();
        var again = new TenantProvisioned(tenantId, 3, DateTimeOffset.UtcNow);
        await bus.Publish(again, context => context.MessageId = messageId);
        await consumed.Times(1).WaitAsync(TimeSpan.FromSeconds(60));
        await WaitIdleAsync(tenantId, runs: 2);
        await bus.Publish(again, context => context.MessageId = messageId);
        await consumed.Times(2).WaitAsync(TimeSpan.FromSeconds(60));
        await WaitIdleAsync(tenantId, runs: 2);

        Assert.Equal(2, (await RunsAsync(tenantId)).Count(r => r.Trigger == "provisioned"));
    }
}
