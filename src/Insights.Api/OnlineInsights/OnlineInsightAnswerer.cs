using System.Text.RegularExpressions;
using Insights.BigQuery;
using Insights.Ingestion;
using Insights.InsightModels;
using Insights.Tenancy;

namespace Insights.OnlineInsights;

/// <summary>
/// Answers online requests on the worker: from the tenant's stored models, or with a live BigQuery query when the
/// definition says <c>live</c>. The tenant is resolved here from its id; its schema never comes from the request.
/// </summary>
public sealed partial class OnlineInsightAnswerer(
    TenantDatabases connections,
    TenantDirectory directory,
    InsightDefinitionCatalog definitions,
    IServiceProvider services,
    IOptions<OnlineInsightsOptions> options,
    IOptions<InsightSourceOptions> sourceOptions,
    ILogger<OnlineInsightAnswerer> logger)
{
    public const string LiveSource = "live";

    /// <summary>
    /// The latest matching model of the contract's source table; <c>{table}</c> is <c>Ingestion:BigQuery:Table</c>.
    /// A null parameter means "any"; NULL dates of a row mean open-ended.
    /// </summary>
    public const string DefaultLiveQueryTemplate =
        """
        SELECT id, `key`, payload, version, updated_at
        FROM `{table}`
        WHERE tenant_id = @tenantId
          AND insight = @insight
          AND NOT IFNULL(deleted, FALSE)
          AND (@key IS NULL OR `key` = @key)
          AND (@filter IS NULL OR `filter` = @filter)
          AND (@dateFrom IS NULL OR date_to IS NULL OR date_to >= @dateFrom)
          AND (@dateTo IS NULL OR date_from IS NULL OR date_from <= @dateTo)
        ORDER BY version DESC, updated_at DESC
        LIMIT 1
        """;

    /// <summary>Names a request's own parameters may not take: the template binds these itself.</summary>
    public static readonly IReadOnlySet<string> ReservedParameters =
        new HashSet<string>(["tenantId", "insight", "key", "filter", "dateFrom", "dateTo"], StringComparer.OrdinalIgnoreCase);

    /// <summary>The lookup of <paramref name="request"/> in the tenant's stored models, parameters bound.</summary>
    public static NpgsqlCommand LookupCommand(TenantDatabase database, GetOnlineInsight request) =>
        InsightModelLookup.Command(database, request.Insight, request.Key, request.Filter, request.DateFrom, request.DateTo);

    [GeneratedRegex("@([A-Za-z_][A-Za-z0-9_]*)", RegexOptions.CultureInvariant)]
    private static partial Regex ParameterReference();

    public async Task<OnlineInsightAnswer> AnswerAsync(GetOnlineInsight request, CancellationToken cancellationToken)
    {
        if (!TenantId.IsValid(request.TenantId))
        {
            return OnlineInsightAnswer.Rejected("The tenant is not active.");
        }

        TelemetrySetup.TagTenant(request.TenantId);
        var tenant = await directory.FindAsync(request.TenantId, cancellationToken);
        if (tenant is not { Status: TenantStatus.Active })
        {
            return OnlineInsightAnswer.Rejected("The tenant is not active.");
        }

        var all = await definitions.AllAsync(cancellationToken);
        if (!all.TryGetValue(request.Insight, out var definition) || !definition.Online)
        {
            return OnlineInsightAnswer.Rejected($"'{request.Insight}' is not an online insight.");
        }

        return definition.Source == LiveSource
            ? await LiveAsync(tenant, request, cancellationToken)
            : await StoredAsync(tenant, request, cancellationToken);
    }

    /// <summary>The stored lookup alone, for a tenant already resolved.</summary>
    public async Task<OnlineInsightAnswer> StoredAsync(TenantInfo tenant, GetOnlineInsight request, CancellationToken cancellationToken)
    {
        await using var command = LookupCommand(connections.For(tenant), request);
        await using var reader = await command.ExecuteReaderAsync(System.Data.CommandBehavior.SingleRow, cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return OnlineInsightAnswer.NotFound(NoMatch(request));
        }

        return OnlineInsightAnswer.Of(new OnlineInsightFound(
            request.Insight,
            reader.IsDBNull(0) ? null : reader.GetString(0),
            OnlineInsightSource.Store,
            reader.GetFieldValue<DateTimeOffset>(2),
            reader.GetInt64(1),
            reader.GetString(3)));
    }

    private async Task<OnlineInsightAnswer> LiveAsync(TenantInfo tenant, GetOnlineInsight request, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var table = sourceOptions.Value.BigQuery.Table?.Trim();
        var template = string.IsNullOrWhiteSpace(settings.LiveQueryTemplate) ? DefaultLiveQueryTemplate : settings.LiveQueryTemplate;
        if (template.Contains(BigQueryInsightSource.TablePlaceholder, StringComparison.Ordinal) && string.IsNullOrEmpty(table))
        {
            logger.LogWarning("Live insight {Insight} asked, but neither Ingestion:BigQuery:Table nor OnlineInsights:LiveQueryTemplate is set", request.Insight);
            return OnlineInsightAnswer.Failed("The live source of this insight is not configured.");
        }

        var sql = template.Replace(BigQueryInsightSource.TablePlaceholder, table, StringComparison.Ordinal);
        var parameters = new List<BigQueryParameter>
        {
            BigQueryParameter.String("tenantId", tenant.Id),
            BigQueryParameter.String("insight", request.Insight),
            BigQueryParameter.String("key", request.Key),
            BigQueryParameter.String("filter", request.Filter),
            new("dateFrom", "DATE", request.DateFrom?.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)),
            new("dateTo", "DATE", request.DateTo?.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)),
        };

        // A request's own parameters are bound only when the template names them: BigQuery refuses unused ones.
        var referenced = ParameterReference().Matches(sql).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
        foreach (var (name, value) in request.Parameters ?? new Dictionary<string, string>())
        {
            if (referenced.Contains(name) && !ReservedParameters.Contains(name))
            {
                parameters.Add(BigQueryParameter.String(name, value));
            }
        }

        parameters.RemoveAll(p => !referenced.Contains(p.Name) && p.Name != "tenantId");

        // Nobody waits longer than the online deadline, so the query is not retried beyond it.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(settings.Timeout);
        try
        {
            var client = services.GetRequiredService<IBigQueryClient>();
            var query = new BigQueryQuery(sql) { TenantId = tenant.Id, PageSize = 1, Parameters = parameters };
            await foreach (var page in client.QueryAsync(query, deadline.Token))
            {
                if (page.Rows.Count > 0)
                {
                    return OnlineInsightAnswer.Of(ToFound(request.Insight, page.Rows[0]));
                }

                break;
            }

            return OnlineInsightAnswer.NotFound(NoMatch(request));
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("Live insight {Insight} for tenant {TenantId}: BigQuery did not answer within {Timeout}", request.Insight, tenant.Id, settings.Timeout);
            return OnlineInsightAnswer.Failed("The live source did not answer in time.");
        }
        catch (Exception e) when (e is BigQueryException or HttpRequestException or InvalidDataException or JsonException)
        {
            logger.LogWarning(e, "Live insight {Insight} for tenant {TenantId} failed", request.Insight, tenant.Id);
            return OnlineInsightAnswer.Failed("The live source of this insight failed; try again later.");
        }
    }

    private static OnlineInsightFound ToFound(string insight, BigQueryRow row)
    {
        object? Get(string column) => row.Has(column) ? row[column] : throw new InvalidDataException($"The live query returned no column '{column}'.");

        var key = Get("key") switch
        {
            null => null,
            string text => text,
            var other => throw new InvalidDataException($"Column 'key' is {other.GetType().Name}, expected a string."),
        };
        var version = Get("version") switch
        {
            long number => number,
            string text when long.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var number) => number,
            _ => throw new InvalidDataException("Column 'version' is not an integer."),
        };
        var updatedAt = Get("updated_at") as DateTimeOffset? ?? throw new InvalidDataException("Column 'updated_at' is not a TIMESTAMP.");
        var payload = Get("payload") switch
        {
            null => "{}",
            JsonElement json => json.GetRawText(),
            string text => Validated(text),
            _ => throw new InvalidDataException("Column 'payload' is neither JSON nor a string."),
        };
        return new OnlineInsightFound(insight, key, OnlineInsightSource.BigQuery, updatedAt, version, payload);

        static string Validated(string text)
        {
            JsonDocument.Parse(text).Dispose();
            return text;
        }
    }

    private static string NoMatch(GetOnlineInsight request) =>
        $"No model of '{request.Insight}' matches the key, filter and dates asked.";
}
