using Insights.Auth;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;

namespace Insights.ServiceDefaults;

internal static class OpenApi
{
    /// <summary>A pasted token: Development only (development tokens, or a token got elsewhere).</summary>
    public const string BearerScheme = "Bearer";

    /// <summary>Sign-in at Fluig Identity, wherever an authority is configured.</summary>
    public const string SignInScheme = "FluigIdentity";

    public static void AddInsightsOpenApi(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<OpenApiOptions>().BindConfiguration(OpenApiOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        var signIn = !string.IsNullOrWhiteSpace(builder.Configuration[$"{FluigIdentityOptions.Section}:{nameof(FluigIdentityOptions.Authority)}"]);
        var paste = builder.Environment.IsDevelopment() || !signIn;
        var scopes = (builder.Configuration.GetSection(OpenApiOptions.Section).Get<OpenApiOptions>() ?? new OpenApiOptions()).ScopeNames();

        services.AddEndpointsApiExplorer();
        services.AddSwaggerGen(o =>
        {
            o.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "Protheus Insights",
                Version = "v1",
                Description = "Tenants, insight ingestion, SmartLink-style delivery and online insights. " +
                    (paste
                        ? "Authorize by signing in at Fluig Identity, or with a pasted token (Development only; `scripts/dev-token.sh` mints one)."
                        : "Authorize by signing in at Fluig Identity."),
            });
            // Requirements are alternatives: either scheme authorizes a call.
            if (signIn)
            {
                o.DocumentAsyncFilter<FluigIdentitySignIn>();
                o.AddSecurityRequirement(document => new OpenApiSecurityRequirement
                {
                    [new OpenApiSecuritySchemeReference(SignInScheme, document)] = [.. scopes],
                });
            }

            if (paste)
            {
                o.AddSecurityDefinition(BearerScheme, new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    BearerFormat = "JWT",
                    Description = "An access token: a person's, a tenant client's, or a development token.",
                });
                o.AddSecurityRequirement(document => new OpenApiSecurityRequirement
                {
                    [new OpenApiSecuritySchemeReference(BearerScheme, document)] = [],
                });
            }

            o.SupportNonNullableReferenceTypes();
            o.OperationFilter<OperationRoles>();
            o.DocumentFilter<ApiTags>();
            o.SchemaFilter<AnyJsonSchemas>();

            // Stored JSON passed through as is (a payload, an envelope, a history): any JSON value, like JsonElement.
            o.MapType<Insights.Http.RawJson>(() => new OpenApiSchema { Description = "JSON, as stored." });

        });
    }

    public static void UseInsightsOpenApi(this WebApplication app)
    {
        var settings = app.Services.GetRequiredService<IOptions<OpenApiOptions>>().Value;
        if (!settings.Enabled && !app.Environment.IsDevelopment())
        {
            return;
        }

        // The servers: this one, where the document was read (a relative URL, right behind any proxy that keeps the path).
        app.UseSwagger(o => o.PreSerializeFilters.Add((document, request) =>
            document.Servers = [new OpenApiServer { Url = request.PathBase.HasValue ? request.PathBase.Value : "/" }]));
        app.UseSwaggerUI(o =>
        {
            o.SwaggerEndpoint("/swagger/v1/swagger.json", "Protheus Insights v1");
            o.DocumentTitle = "Protheus Insights";
            o.EnablePersistAuthorization();
            // Swagger UI is a public client: no secret, the code is bound to the browser by PKCE. Its redirect URI is
            // /swagger/oauth2-redirect.html on this service's address, as registered at Fluig Identity.
            o.OAuthClientId(settings.ClientId);
            o.OAuthUsePkce();
            o.OAuthScopes(settings.ScopeNames());
            o.OAuthAppName("Protheus Insights");
        });
    }

    /// <summary>The problem answers every authenticated endpoint can give.</summary>
    public static RouteGroupBuilder WithCommonProblems(this RouteGroupBuilder group) => group
        .ProducesProblem(StatusCodes.Status401Unauthorized)
        .ProducesProblem(StatusCodes.Status403Forbidden)
        .ProducesProblem(StatusCodes.Status500InternalServerError);
}
