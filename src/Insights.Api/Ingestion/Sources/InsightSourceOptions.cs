using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Insights.Ingestion;

/// <summary>Where ingestion reads insight models (settings <c>Ingestion:Source</c>, <c>Ingestion:Local</c>, <c>Ingestion:BigQuery</c>).</summary>
public sealed class InsightSourceOptions
{
    public const string Section = "Ingestion";

    /// <summary><c>Local</c> (NDJSON files) or <c>BigQuery</c>.</summary>
    public string Source { get; set; } = InsightSourceKind.Local;

    public LocalSourceOptions Local { get; set; } = new();

    public BigQuerySourceOptions BigQuery { get; set; } = new();

    public bool UsesBigQuery => string.Equals(Source, InsightSourceKind.BigQuery, StringComparison.OrdinalIgnoreCase);

    public bool UsesLocal => string.Equals(Source, InsightSourceKind.Local, StringComparison.OrdinalIgnoreCase);
}

public static class InsightSourceKind
{
    public const string Local = "Local";
    public const string BigQuery = "BigQuery";
}

/// <summary>NDJSON files of insight models (section <c>Ingestion:Local</c>).</summary>
public sealed class LocalSourceOptions
{
    /// <summary>
    /// Folder of <c>*.ndjson</c> files. A relative path is looked up under the content root, the current directory,
    /// and their parent folders, so the repository's samples are found wherever the host runs from.
    /// </summary>
    public string Folder { get; set; } = "samples/insight-models";
}

/// <summary>The BigQuery query ingestion runs (section <c>Ingestion:BigQuery</c>); the connection is in section <c>BigQuery</c>.</summary>
public sealed class BigQuerySourceOptions
{
    /// <summary>The source table, <c>dataset.table</c> or <c>project.dataset.table</c>; used by the default query.</summary>
    public string? Table { get; set; }

    /// <summary>
    /// A GoogleSQL query replacing the default one. It must bind <c>@tenantId</c> and <c>@limit</c>, should use
    /// <c>@afterUpdatedAt</c> and <c>@afterId</c> as the exclusive cursor, must return the source table's columns and be
    /// ordered by <c>updated_at, id</c>. <c>{table}</c> is replaced by <see cref="Table"/>.
    /// </summary>
    public string? QueryTemplate { get; set; }

    /// <summary>
    /// A GoogleSQL query replacing the default one of the fleet sweep. It must bind <c>@since</c> (rows updated at or after
    /// it), must return <c>tenant_id</c> and the source table's columns, ordered by <c>updated_at, tenant_id, id</c>.
    /// Values only as parameters, as for <see cref="QueryTemplate"/>.
    /// </summary>
    public string? SweepQueryTemplate { get; set; }

    /// <summary>Rows one query fetches (<c>@limit</c>); when a query returns exactly this many, the next query resumes after its last row.</summary>
    public int BatchSize { get; set; } = 50_000;
}

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

            if (bigQuery.BatchSize is < 1 or > 10_000_000)
            {
                failures.Add($"Setting '{s}:BigQuery:BatchSize' must be between 1 and 10000000; got {bigQuery.BatchSize}.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
