using Insights.Ingestion;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Insights.UnitTests.Ingestion;

/// <summary>How <c>Ingestion:Source</c> picks the source, and which settings are checked at start.</summary>
public sealed class IngestionSourceSetupTests
{
    private static WebApplication Build(Dictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddInsightSource();
        return builder.Build();
    }

    private static async Task<string> StartFails(Dictionary<string, string?> settings)
    {
        await using var app = Build(settings);
        var error = await Assert.ThrowsAnyAsync<Exception>(() => app.StartAsync());
        return Flatten(error);
    }

    [Fact]
    public async Task Local_is_the_default_and_bigquery_settings_are_then_not_checked()
    {
        await using var app = Build(new() { ["BigQuery:ProjectId"] = "", ["BigQuery:PageSize"] = "0" });
        await app.StartAsync();

        var source = Assert.IsType<LocalInsightSource>(app.Services.GetRequiredService<IInsightSource>());
        Assert.EndsWith(Path.Combine("samples", "insight-models"), source.Folder, StringComparison.Ordinal);
        await app.StopAsync();
    }

    [Fact]
    public async Task Bigquery_without_project_or_table_stops_the_start_naming_both_settings()
    {
        var message = await StartFails(new() { ["Ingestion:Source"] = "BigQuery", ["BigQuery:ProjectId"] = "", ["Ingestion:BigQuery:Table"] = "" });

        Assert.Contains("'BigQuery:ProjectId'", message, StringComparison.Ordinal);
        Assert.Contains("'Ingestion:BigQuery:Table'", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Ingestion:Source", "Kafka", "'Ingestion:Source'")]
    [InlineData("BigQuery:BaseUrl", "not a url", "'BigQuery:BaseUrl'")]
    [InlineData("BigQuery:PageSize", "0", "'BigQuery:PageSize'")]
    [InlineData("BigQuery:MaximumBytesBilled", "1000", "'BigQuery:MaximumBytesBilled'")]
    [InlineData("BigQuery:CredentialsFile", "/nowhere/key.json", "'BigQuery:CredentialsFile'")]
    [InlineData("BigQuery:Retry:Multiplier", "0.5", "'BigQuery:Retry:Multiplier'")]
    [InlineData("Ingestion:BigQuery:Table", "ds.t; DROP TABLE x", "'Ingestion:BigQuery:Table'")]
    [InlineData("Ingestion:BigQuery:QueryTemplate", "SELECT * FROM `{table}` LIMIT @limit", "'Ingestion:BigQuery:QueryTemplate' must use the parameter @tenantId")]
    [InlineData("Ingestion:BigQuery:BatchSize", "0", "'Ingestion:BigQuery:BatchSize'")]
    public async Task A_wrong_setting_stops_the_start_naming_it(string setting, string value, string expected)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Ingestion:Source"] = "BigQuery",
            ["Ingestion:BigQuery:Table"] = "carol-prod.insights.insight_models",
            ["BigQuery:ProjectId"] = "carol-prod",
            [setting] = value,
        };

        Assert.Contains(expected, await StartFails(settings), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bigquery_with_valid_settings_registers_the_bigquery_source()
    {
        await using var app = Build(new()
        {
            ["Ingestion:Source"] = "bigquery",
            ["Ingestion:BigQuery:Table"] = "insights.insight_models",
            ["BigQuery:ProjectId"] = "carol-prod",
        });
        await app.StartAsync();

        Assert.IsType<BigQueryInsightSource>(app.Services.GetRequiredService<IInsightSource>());
        await app.StopAsync();
    }

    private static string Flatten(Exception error)
    {
        var messages = new List<string>();
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            messages.Add(e.Message);
            if (e is OptionsValidationException validation)
            {
                messages.AddRange(validation.Failures);
            }

            if (e is AggregateException aggregate)
            {
                messages.AddRange(aggregate.InnerExceptions.Select(Flatten));
            }
        }

        return string.Join(" | ", messages);
    }
}
