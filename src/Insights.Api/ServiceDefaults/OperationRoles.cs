using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Authorization;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Insights.ServiceDefaults;

/// <summary>
/// Shows who may call each operation: a line of its description, and <c>x-insights-roles</c> (the configured role
/// names, or <c>tenant-client</c>) for tools.
/// </summary>
internal sealed class OperationRoles(PersonRoles roles) : IOperationFilter
{
    public const string Extension = "x-insights-roles";
    public const string TenantClient = "tenant-client";

    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        var roles = context.ApiDescription.ActionDescriptor.EndpointMetadata
            .OfType<IAuthorizeData>()
            .Select(a => a.Policy)
            .OfType<string>()
            .SelectMany(RolesOf)
            .Distinct(StringComparer.Ordinal)
            .ToList();
        if (roles.Count == 0)
        {
            return;
        }

        operation.Extensions ??= new Dictionary<string, IOpenApiExtension>();
        operation.Extensions[Extension] = new JsonNodeExtension(new JsonArray([.. roles.Select(r => (JsonNode?)JsonValue.Create(r))]));
        var line = $"**Roles:** {string.Join(", ", roles.Select(r => $"`{r}`"))}";
        operation.Description = string.IsNullOrEmpty(operation.Description) ? line : $"{operation.Description}\n\n{line}";
    }

    private IEnumerable<string> RolesOf(string policy)
    {
        if (policy == Policies.Tenant)
        {
            return [TenantClient];
        }

        return Policies.People.TryGetValue(policy, out var minimum)
            ? Enum.GetValues<PersonRole>().Where(r => r >= minimum).OrderDescending().Select(roles.NameOf)
            : [];
    }
}
