using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Insights.ServiceDefaults;

/// <summary>What each group of operations is for, as the document's tags say it.</summary>
internal sealed class ApiTags : IDocumentFilter
{
    private static readonly Dictionary<string, string> Descriptions = new(StringComparer.Ordinal)
    {
        ["Tenants"] = "The customers: provisioning, edits, suspension, deletion, moves between stores, usage and tenant migrations.",
        ["Tenant stores"] = "The PostgreSQL databases that hold tenant schemas.",
        ["Messages"] = "A tenant's queue as admins see it: browse, resend, redrive dead letters.",
        ["Insight models"] = "The insight models stored per tenant.",
        ["Insight definitions"] = "The catalog of insight types: module, priority, whether online, where online answers come from.",
        ["Ingestion"] = "Ingestion runs of a tenant and the fleet sweeps that read the source for every tenant.",
        ["Fleet"] = "Every tenant's delivery and ingestion health, worst first.",
        ["Audit"] = "The audit trail of every call that changes state.",
        ["SmartLink client"] = "The Protheus client's queue API: receive, acknowledge, fail, extend leases, send.",
        ["Online insights"] = "Answers for ERP screens that wait: the latest stored model, or a live query.",
        ["Operations"] = "Metrics for Prometheus.",
    };

    public void Apply(OpenApiDocument document, DocumentFilterContext context)
    {
        var used = context.ApiDescriptions
            .SelectMany(d => d.ActionDescriptor.EndpointMetadata.OfType<Microsoft.AspNetCore.Http.Metadata.ITagsMetadata>().SelectMany(t => t.Tags))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal);
        document.Tags = new HashSet<OpenApiTag>(
            used.Select(name => new OpenApiTag { Name = name, Description = Descriptions.GetValueOrDefault(name, name) }));
    }
}
