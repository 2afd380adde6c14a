using Microsoft.OpenApi;

namespace Insights.ServiceDefaults;

internal static class OpenApi
{
    public const string BearerScheme = "Bearer";

    public static void AddInsightsOpenApi(this IServiceCollection services)
    {
        services.AddEndpointsApiExplorer();
        services.AddSwaggerGen(o =>
        {
            o.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "Protheus Insights",
                Version = "v1",
                Description = "Tenants, insight ingestion, SmartLink-style delivery and online insights. " +
                    "Authorize with a Fluig Identity bearer token (or, locally, `dev-token`).",
            });
            o.AddSecurityDefinition(BearerScheme, new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                BearerFormat = "JWT",
                Description = "A Fluig Identity access token: an admin user token, or a tenant client token.",
            });
            o.AddSecurityRequirement(document => new OpenApiSecurityRequirement
            {
                [new OpenApiSecuritySchemeReference(BearerScheme, document)] = [],
            });
            o.SupportNonNullableReferenceTypes();
            o.OperationFilter<OperationRoles>();

            // Stored JSON passed through as is (a payload, an envelope, a history): any JSON value, like JsonElement.
            o.MapType<Insights.Http.RawJson>(() => new OpenApiSchema { Description = "JSON, as stored." });
        });
    }

    public static void UseInsightsOpenApi(this WebApplication app)
    {
        app.UseSwagger();
        app.UseSwaggerUI(o =>
        {
            o.SwaggerEndpoint("/swagger/v1/swagger.json", "Protheus Insights v1");
            o.DocumentTitle = "Protheus Insights";
            o.EnablePersistAuthorization();
        });
    }

    /// <summary>The problem answers every authenticated endpoint can give.</summary>
    public static RouteGroupBuilder WithCommonProblems(this RouteGroupBuilder group) => group
        .ProducesProblem(StatusCodes.Status401Unauthorized)
        .ProducesProblem(StatusCodes.Status403Forbidden)
        .ProducesProblem(StatusCodes.Status500InternalServerError);
}
