namespace Insights.Auth;

/// <summary>How bearer tokens are validated (section <c>Authentication</c>).</summary>
public sealed class FluigIdentityOptions
{
    public const string Section = "Authentication";

    /// <summary>OIDC authority (issuer), serving the metadata and JWKS. Optional only in Development.</summary>
    public string? Authority { get; set; }

    public string Audience { get; set; } = "insights";
    public string TenantClaim { get; set; } = "http://www.tnf.com/identity/claims/tenantId";
    public string RoleClaim { get; set; } = "role";
    public string AdminRole { get; set; } = "insights-admin";
    public string OperatorRole { get; set; } = "insights-operator";
    public string ViewerRole { get; set; } = "insights-viewer";

    /// <summary>The claim holding a person's display name, recorded in the audit trail.</summary>
    public string NameClaim { get; set; } = "name";
    public bool RequireHttpsMetadata { get; set; } = true;
    public int ClockSkewSeconds { get; set; } = 30;

    /// <summary>How often the authority's metadata and signing keys are fetched again, planned (5–1440).</summary>
    public int MetadataRefreshMinutes { get; set; } = 60;

    /// <summary>
    /// The shortest time between two unplanned fetches (a token names a key the node does not hold, or the authority
    /// was unreachable at the last try), 1–300; also the <c>Retry-After</c> of a 503 while no key could be fetched.
    /// </summary>
    public int MetadataRetrySeconds { get; set; } = 10;

    /// <summary>PEM file of the development signing key; blank means <c>~/.insights/dev-signing-key.pem</c>.</summary>
    public string? DevelopmentKeyPath { get; set; }

    public string DevelopmentIssuer { get; set; } = "https://insights.local/dev";
}
