using System.Diagnostics;
using System.Text.Json;
using Insights.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Insights.IntegrationTests.Deployment;

/// <summary>The OpenAPI document as a node serves it passes Redocly's recommended rules without an error.</summary>
[Collection(SharedHost.Name)]
public sealed class OpenApiLintTests(InsightsFixture host, ITestOutputHelper output)
{
    [Fact]
    public async Task The_document_has_no_error_under_Redocly_recommended_rules()
    {
        var redocly = Environment.GetEnvironmentVariable("INSIGHTS_TEST_REDOCLY");
        Assert.True(
            !string.IsNullOrWhiteSpace(redocly) && File.Exists(redocly),
            "No Redocly CLI: run the tests with scripts/test.sh (it installs @redocly/cli with npm and sets INSIGHTS_TEST_REDOCLY).");

        var folder = Directory.CreateTempSubdirectory("insights-openapi-");
        try
        {
            var document = Path.Combine(folder.FullName, "openapi.json");
            await File.WriteAllTextAsync(document, await host.Admin.GetStringAsync("/swagger/v1/swagger.json"));
            var start = new ProcessStartInfo(redocly!, ["lint", "--format=json", "--extends=recommended", document])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = folder.FullName,
            };
            start.Environment["REDOCLY_TELEMETRY"] = "off";
            start.Environment["REDOCLY_SUPPRESS_UPDATE_NOTICE"] = "true";
            using var lint = Process.Start(start)!;
            var stdout = lint.StandardOutput.ReadToEndAsync();
            var stderr = lint.StandardError.ReadToEndAsync();
            await lint.WaitForExitAsync();

            using var report = JsonDocument.Parse(await stdout);
            var problems = report.RootElement.GetProperty("problems").EnumerateArray()
                .Select(p => (
                    Severity: p.GetProperty("severity").GetString(),
                    Rule: p.GetProperty("ruleId").GetString(),
                    Message: p.GetProperty("message").GetString(),
                    Where: string.Join(", ", p.GetProperty("location").EnumerateArray().Select(l => l.GetProperty("pointer").GetString()))))
                .ToList();
            foreach (var problem in problems)
            {
                output.WriteLine($"{problem.Severity} {problem.Rule}: {problem.Message} at {problem.Where}");
            }

            var errors = problems.Where(p => p.Severity == "error").ToList();
            Assert.True(errors.Count == 0, string.Join("\n", errors.Select(e => $"{e.Rule}: {e.Message} at {e.Where}")) + "\n" + await stderr);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
