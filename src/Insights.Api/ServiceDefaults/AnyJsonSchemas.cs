using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Insights.ServiceDefaults;

/// <summary>
/// A property of free-form JSON (<see cref="System.Text.Json.JsonElement"/>) may be any value, null included: its schema
/// has no type, and OpenAPI 3.0 allows <c>nullable</c> only beside one. The type "null" alone is dropped.
/// </summary>
internal sealed class AnyJsonSchemas : ISchemaFilter
{
    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        if (schema is not OpenApiSchema { Properties: { } properties })
        {
            return;
        }

        foreach (var property in properties.Values.OfType<OpenApiSchema>().Where(p => p.Type == JsonSchemaType.Null))
        {
            property.Type = null;
        }
    }
}
