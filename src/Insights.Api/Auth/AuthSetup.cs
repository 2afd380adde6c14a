using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Insights.Auth;

internal static class AuthSetup
{
    public const string BearerScheme = "Bearer";
    public const string FluigScheme = "FluigIdentity";
    public const string DevelopmentScheme = "DevelopmentKey";

    /// <summary>
    /// Only asymmetric signatures: an unsigned token, or one signed with HMAC (say, the public key as secret), fails.
    /// </summary>
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
        // Why a token failed goes to the log; outside Development the caller learns only that it failed.
        var describeFailures = builder.Environment.IsDevelopment();

        var authentication = services.AddAuthentication(BearerScheme)
            .AddPolicyScheme(BearerScheme, "Bearer token", o =>
                o.ForwardDefaultSelector = context => SelectScheme(context, settings, useFluig, useDevelopmentKey));

        if (useFluig)
        {
            services.TryAddSingleton(TimeProvider.System);
            services.AddHttpClient(FluigIdentityMetadata.HttpClientName, c => c.Timeout = FluigIdentityMetadata.FetchTimeout);
            services.AddSingleton<FluigIdentityMetadata>();
            authentication.AddJwtBearer(FluigScheme, o =>
            {
                o.Audience = settings.Audience;
                o.MapInboundClaims = false;
                o.IncludeErrorDetails = describeFailures;
                o.TokenValidationParameters = ValidationParameters(settings);
                // The metadata refreshes the keys itself, before validation, for a token of a key it does not hold.
                o.RefreshOnIssuerKeyNotFound = false;
                o.Events = FluigIdentityTokenEvents(settings.TenantClaim);
            });
            services.AddOptions<JwtBearerOptions>(FluigScheme)
                .Configure<FluigIdentityMetadata>((o, metadata) => o.ConfigurationManager = metadata);
        }

        if (useDevelopmentKey)
        {
            var key = DevelopmentKey.LoadOrCreate(DevelopmentKey.ResolvePath(settings.DevelopmentKeyPath));
            authentication.AddJwtBearer(DevelopmentScheme, o =>
            {
                o.MapInboundClaims = false;
                o.IncludeErrorDetails = describeFailures;
                o.TokenValidationParameters = ValidationParameters(settings);
                o.Events = StrictTokenEvents(settings.TenantClaim);
                o.TokenValidationParameters.ValidIssuer = settings.DevelopmentIssuer;
                o.TokenValidationParameters.IssuerSigningKey = key;
            });
        }

        services.AddSingleton<PersonRoles>();
        services.AddSingleton<IAuthorizationHandler, PersonRoleAuthorizationHandler>();
        var policies = services.AddAuthorizationBuilder();
        foreach (var (policy, role) in Policies.People)
        {
            policies.AddPolicy(policy, p => p
                .AddAuthenticationSchemes(BearerScheme)
                .RequireAuthenticatedUser()
                .AddRequirements(new PersonRoleRequirement(role)));
        }

        policies.AddPolicy(Policies.Tenant, p => p
                .AddAuthenticationSchemes(BearerScheme)
                .RequireAuthenticatedUser()
                .AddRequirements(new TenantRequirement()));
    }

    /// <summary>
    /// RFC 7515 §4.1.11: a recipient must reject a token whose <c>crit</c> header names an extension it does not
    /// understand. This service understands none, so any <c>crit</c> header fails the token. The tenant claim is read
    /// only as a JSON string: any other JSON stays what it is, so the tenant requirement refuses it (403).
    /// </summary>
    private static JwtBearerEvents StrictTokenEvents(string tenantClaim) => new()
    {
        OnTokenValidated = context =>
        {
            if (context.SecurityToken is not JsonWebToken token)
            {
                return Task.CompletedTask;
            }

            if (token.TryGetHeaderValue<object>("crit", out _))
            {
                context.Fail("The token names critical header extensions ('crit') that are not understood.");
            }
            else if (context.Principal?.Identity is ClaimsIdentity identity)
            {
                StrictClaims.KeepJsonType(identity, token, tenantClaim);
            }

            return Task.CompletedTask;
        },
    };

    /// <summary>
    /// Before a Fluig Identity token is validated, the node makes sure it holds the token's signing key, fetching the
    /// keys within the request when it does not (ADR 0023). A token the node cannot judge because the authority is
    /// unreachable gets <c>503</c> with <c>Retry-After</c>: a <c>401</c> would make the client drop a good token.
    /// </summary>
    private static JwtBearerEvents FluigIdentityTokenEvents(string tenantClaim)
    {
        var events = StrictTokenEvents(tenantClaim);
        events.OnMessageReceived = async context =>
        {
            var header = context.Request.Headers.Authorization.ToString();
            if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || header["Bearer ".Length..].Trim() is not { Length: > 0 } token)
            {
                return;
            }

            string? keyId;
            try
            {
                keyId = new JsonWebToken(token).Kid;
            }
            catch (ArgumentException)
            {
                context.Fail("The bearer token is not a JWT.");
                return;
            }

            var metadata = (FluigIdentityMetadata)context.Options.ConfigurationManager!;
            if (await metadata.PrepareAsync(keyId, context.HttpContext.RequestAborted) is { } retryAfter)
            {
                context.Fail(new IdentityProviderUnavailableException(retryAfter));
                return;
            }

            context.Token = token;
        };
        events.OnAuthenticationFailed = context =>
        {
            // The handler's own read of the configuration throws it while the node holds no keys: 503, not 500.
            if (context.Exception is IdentityProviderUnavailableException unavailable)
            {
                context.Fail(unavailable);
            }

            return Task.CompletedTask;
        };
        events.OnChallenge = async context =>
        {
            if (context.AuthenticateFailure is not IdentityProviderUnavailableException unavailable)
            {
                return;
            }

            context.HandleResponse();
            var http = context.HttpContext;
            http.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            http.Response.Headers.RetryAfter = ((int)Math.Ceiling(unavailable.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
            {
                HttpContext = http,
                ProblemDetails = new ProblemDetails
                {
                    Status = StatusCodes.Status503ServiceUnavailable,
                    Title = "Service unavailable",
                    Detail = "The identity provider cannot be reached to check the token; retry after the time in the Retry-After header.",
                },
            });
        };
        return events;
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
