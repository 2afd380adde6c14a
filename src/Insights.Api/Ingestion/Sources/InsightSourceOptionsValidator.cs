using System.Text.RegularExpressions;

namespace Insights.Ingestion;

internal sealed partial class InsightSourceOptionsValidator : IValidateOptions<InsightSourceOptions>
{
    [GeneratedRegex("\\A(?:[A-Za-z0-9_.:-]+\\.)?[A-Za-z0-9_]+\\.[A-Za-z0-9_-]+\\z", RegexOptions.CultureInvariant)]
    private static partial Regex TableName();

    public ValidateOptionsResult Validate(string? name, InsightSourceOptions options)
    {
        const string s = InsightSourceOptions.Section;
        var failures = new List<string>();
        if (!options.UsesLocal && !options.UsesBigQuery)
        {
            failures.Add($"Setting '{s}:Source' must be '{InsightSourceKind.Local}' or '{InsightSourceKind.BigQuery}'; got '{options.Source}'.");
        }

        if (options.UsesLocal && string.IsNullOrWhiteSpace(options.Local.Folder))
        {
            failures.Add($"Setting '{s}:Local:Folder' must name the folder of the NDJSON model files.");
        }

        if (options.UsesBigQuery)
        {
            var bigQuery = options.BigQuery;
            var template = bigQuery.QueryTemplate;
            var sweepTemplate = bigQuery.SweepQueryTemplate;
            var needsTable = string.IsNullOrWhiteSpace(template) || template.Contains(BigQueryInsightSource.TablePlaceholder, StringComparison.Ordinal)
                || string.IsNullOrWhiteSpace(sweepTemplate) || sweepTemplate.Contains(BigQueryInsightSource.TablePlaceholder, StringComparison.Ordinal);
            if (needsTable && string.IsNullOrWhiteSpace(bigQuery.Table))
            {
                failures.Add($"Setting '{s}:BigQuery:Table' is required when '{s}:Source' is BigQuery (dataset.table or project.dataset.table).");
            }
            else if (!string.IsNullOrWhiteSpace(bigQuery.Table) && !TableName().IsMatch(bigQuery.Table))
            {
                failures.Add($"Setting '{s}:BigQuery:Table' must be dataset.table or project.dataset.table; got '{bigQuery.Table}'.");
            }

            if (!string.IsNullOrWhiteSpace(template))
            {
                foreach (var parameter in new[] { "@tenantId", "@limit" })
                {
                    if (!template.Contains(parameter, StringComparison.Ordinal))
                    {
                        failures.Add($"Setting '{s}:BigQuery:QueryTemplate' must use the parameter {parameter}.");
                    }
                }
            }

            if (!string.IsNullOrWhiteSpace(sweepTemplate) && !sweepTemplate.Contains("@since", StringComparison.Ordinal))
            {
                failures.Add($"Setting '{s}:BigQuery:SweepQueryTemplate' must use the parameter @since.");
            }

            if (bigQuery.TimeTravelWindow < TimeSpan.FromHours(1) || bigQuery.TimeTravelWindow > TimeSpan.FromDays(7))
            {
                failures.Add($"Setting '{s}:BigQuery:TimeTravelWindow' must be between 1 hour and 7 days; got {bigQuery.TimeTravelWindow}.");
            }

            if (bigQuery.BatchSize is < 1 or > 10_000_000)
            {
                failures.Add($"Setting '{s}:BigQuery:BatchSize' must be between 1 and 10000000; got {bigQuery.BatchSize}.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
