using Insights.Ingestion;
using Insights.IntegrationTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Insights.IntegrationTests.Ingestion;

/// <summary>Finished runs go after <c>Ingestion:RunRetention</c>; queued and running ones never do.</summary>
public sealed class RunRetentionTests : OwnDatabaseTests
{
    private InsightsFactory Host(string roles)
    {
        var settings = InsightsFactory.Settings(Authority, Database);
        settings["Roles"] = roles;
        settings["Ingestion:Interval"] = "1.00:00:00";
        settings["Ingestion:ReaperInterval"] = "00:00:00.200";
        settings["Ingestion:RunRetention"] = "01:00:00";
        return new InsightsFactory(settings);
    }

    /// <summary>Inserts <paramref name="count"/> runs of the tenant as they would stand after the given ages.</summary>
    private async Task InsertRunsAsync(string tenantId, string status, string finishedAgo, int count = 1)
    {
        await using var dataSource = Database.CreateDataSource();
        await using var command = dataSource.CreateCommand(
            """
            INSERT INTO catalog.ingestion_runs (id, tenant_id, status, trigger, requested_at, started_at, finished_at)
            SELECT gen_random_uuid(), $1, $2, 'admin', now() - $3::interval - interval '1 minute', now() - $3::interval - interval '1 minute', now() - $3::interval
            FROM generate_series(1, $4)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        command.Parameters.Add(new NpgsqlParameter { Value = status });
        command.Parameters.Add(new NpgsqlParameter { Value = finishedAgo });
        command.Parameters.Add(new NpgsqlParameter { Value = count });
        await command.ExecuteNonQueryAsync();
    }

    private async Task<List<string>> StatusesAsync(string tenantId)
    {
        await using var dataSource = Database.CreateDataSource();
        await using var command = dataSource.CreateCommand(
            "SELECT status || ' x' || count(*) FROM catalog.ingestion_runs WHERE tenant_id = $1 GROUP BY status ORDER BY status");
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        var statuses = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            statuses.Add(reader.GetString(0));
        }

        return statuses;
    }

    [Fact]
    public async Task Runs_finished_before_the_retention_go_in_batches_and_queued_running_and_recent_runs_stay()
    {
        await using var host = Host("api");
        var retention = host.Services.GetRequiredService<IngestionRunRetention>();
        var old = InsightsFixture.NewTenantId("rr");
        var queued = InsightsFixture.NewTenantId("rr");
        var running = InsightsFixture.NewTenantId("rr");
        await InsertRunsAsync(old, "succeeded", "2 hours", count: 2500);
        await InsertRunsAsync(old, "failed", "2 days");
        await InsertRunsAsync(old, "interrupted", "3 hours");
        await InsertRunsAsync(old, "succeeded", "1 minute");
        await InsertRunsAsync(old, "failed", "59 minutes");
        // Never deleted, even with a finish time past the retention: only the status says that a run is over.
        await InsertRunsAsync(queued, "queued", "2 days");
        await InsertRunsAsync(running, "running", "2 days");

        Assert.Equal(2502, await retention.TrimAsync(CancellationToken.None));

        Assert.Equal(["failed x1", "succeeded x1"], await StatusesAsync(old));
        Assert.Equal(["queued x1"], await StatusesAsync(queued));
        Assert.Equal(["running x1"], await StatusesAsync(running));
        Assert.Equal(0, await retention.TrimAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_scheduler_node_deletes_expired_runs_by_itself()
    {
        await using var host = Host("api,scheduler");
        _ = host.Services;
        var tenant = InsightsFixture.NewTenantId("rr");
        await InsertRunsAsync(tenant, "succeeded", "2 hours", count: 3);
        await InsertRunsAsync(tenant, "succeeded", "1 minute");

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await StatusesAsync(tenant) is var statuses && statuses.SequenceEqual(["succeeded x4"]))
        {
            Assert.True(DateTime.UtcNow < deadline, "The expired runs were not deleted.");
            await Task.Delay(50);
        }

        Assert.Equal(["succeeded x1"], await StatusesAsync(tenant));
    }
}
