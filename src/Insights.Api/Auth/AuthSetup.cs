using Insights.Tenancy;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Insights.Auth;

public static class Policies
{
    public const string Admin = "Admin";
    public const string Tenant = "Tenant";
}

internal static class AuthSetup
{
    public const string BearerScheme = "Bearer";
    public const string FluigScheme = "FluigIdentity";
    public const string DevelopmentScheme = "DevelopmentKey";

    /// <summary>Only asymmetric signatures: a token signed with HMAC (e.g. with the public key as secret) or unsigned never passes.</summary>
    private static readonly string[] AsymmetricAlgorithms =
    [
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512,
        SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
    ];

    public static void AddInsightsAuth(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<FluigIdentityOptions>().BindConfiguration(FluigIdentityOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<FluigIdentityOptions>, FluigIdentityOptionsValidator>();

        var settings = builder.Configuration.GetSection(FluigIdentityOptions.Section).Get<FluigIdentityOptions>() ?? new FluigIdentityOptions();
        var useFluig = !string.IsNullOrWhiteSpace(settings.Authority);
        var useDevelopmentKey = builder.Environment.IsDevelopment();

        var authentication = services.AddAuthentication(BearerScheme)
            .AddPolicyScheme(BearerScheme, "Bearer token", o =>
                o.ForwardDefaultSelector = context => SelectScheme(context, settings, useFluig, useDevelopmentKey));

        if (useFluig)
        {
            authentication.AddJwtBearer(FluigScheme, o =>
            {
                o.Authority = settings.Authority;
                o.Audience = settings.Audience;
                o.RequireHttpsMetadata = settings.RequireHttpsMetadata;
                o.MapInboundClaims = false;
                o.TokenValidationParameters = ValidationParameters(settings);
            });
        }

        if (useDevelopmentKey)
        {
            var key = DevelopmentKey.LoadOrCreate(DevelopmentKey.ResolvePath(settings.DevelopmentKeyPath));
            authentication.AddJwtBearer(DevelopmentScheme, o =>
            {
                o.MapInboundClaims = false;
                o.TokenValidationParameters = ValidationParameters(settings);
                o.TokenValidationParameters.ValidIssuer = settings.DevelopmentIssuer;
                o.TokenValidationParameters.IssuerSigningKey = key;
            });
        }

        services.AddSingleton<IAuthorizationHandler, TenantAuthorizationHandler>();
        services.AddAuthorizationBuilder()
            .AddPolicy(Policies.Admin, p => p
                .AddAuthenticationSchemes(BearerScheme)
                .RequireAuthenticatedUser()
                .RequireClaim(settings.RoleClaim, settings.AdminRole))
            .AddPolicy(Policies.Tenant, p => p
                .AddAuthenticationSchemes(BearerScheme)
                .RequireAuthenticatedUser()
                .AddRequirements(new TenantRequirement()));
    }

    private static TokenValidationParameters ValidationParameters(FluigIdentityOptions settings) => new()
    {
        ValidateIssuer = true,
        ValidateAudience = true,
        ValidAudience = settings.Audience,
        ValidateLifetime = true,
        RequireExpirationTime = true,
        RequireSignedTokens = true,
        ValidateIssuerSigningKey = true,
        ValidAlgorithms = AsymmetricAlgorithms,
        ClockSkew = TimeSpan.FromSeconds(settings.ClockSkewSeconds),
        NameClaimType = "sub",
        RoleClaimType = settings.RoleClaim,
    };

    /// <summary>
    /// Tokens from the development issuer go to the development scheme, when it exists; everything else is
    /// validated against Fluig Identity. The issuer read here is only a routing hint: the chosen scheme validates it.
    /// </summary>
    private static string SelectScheme(HttpContext context, FluigIdentityOptions settings, bool useFluig, bool useDevelopmentKey)
    {
        if (!useFluig)
        {
            return DevelopmentScheme;
        }

        if (useDevelopmentKey)
        {
            var header = context.Request.Headers.Authorization.ToString();
            if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                var handler = new JsonWebTokenHandler();
                var raw = header["Bearer ".Length..].Trim();
                if (handler.CanReadToken(raw))
                {
                    try
                    {
                        if (handler.ReadJsonWebToken(raw).Issuer == settings.DevelopmentIssuer)
                        {
                            return DevelopmentScheme;
                        }
                    }
                    catch (ArgumentException)
                    {
                        // Unreadable: let the main scheme reject it.
                    }
                }
            }
        }

        return FluigScheme;
    }
}

/// <summary>The caller must be a client of an existing, active tenant.</summary>
public sealed class TenantRequirement : IAuthorizationRequirement;

internal sealed class TenantAuthorizationHandler(TenantDirectory directory, IOptions<FluigIdentityOptions> options)
    : AuthorizationHandler<TenantRequirement>
{
    protected override async Task HandleRequirementAsync(AuthorizationHandlerContext context, TenantRequirement requirement)
    {
        var tenantId = context.User.FindFirst(options.Value.TenantClaim)?.Value;
        if (string.IsNullOrEmpty(tenantId) || !TenantId.IsValid(tenantId))
        {
            context.Fail(new AuthorizationFailureReason(this, "The token names no tenant."));
            return;
        }

        var http = context.Resource as HttpContext;
        var tenant = await directory.FindAsync(tenantId, http?.RequestAborted ?? default);
        if (tenant is null || tenant.Status != TenantStatus.Active)
        {
            context.Fail(new AuthorizationFailureReason(this, "The tenant is unknown or not active."));
            return;
        }

        if (http is not null)
        {
            http.RequestServices.GetRequiredService<TenantContext>().Set(tenant);
        }

        context.Succeed(requirement);
    }
}
