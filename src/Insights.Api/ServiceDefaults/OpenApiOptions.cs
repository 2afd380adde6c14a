using System.ComponentModel.DataAnnotations;

namespace Insights.ServiceDefaults;

/// <summary>Swagger UI and the OpenAPI document (section <c>OpenApi</c>).</summary>
public sealed class OpenApiOptions
{
    public const string Section = "OpenApi";

    /// <summary>
    /// Serve <c>/swagger</c> and the OpenAPI document outside Development (in Development they are always served): admins
    /// run the service from Swagger UI.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The id of Swagger UI's client at Fluig Identity: a public client with PKCE.</summary>
    [Required(ErrorMessage = "Setting 'OpenApi:ClientId' must not be empty (Swagger UI's client id at Fluig Identity).")]
    [RegularExpression(@"^[\x20-\x7E]+$", ErrorMessage = "Setting 'OpenApi:ClientId' must be printable ASCII (RFC 6749, appendix A.1).")]
    public string ClientId { get; set; } = "insights-swagger";

    /// <summary>The scopes Swagger UI asks for at sign-in, separated by spaces.</summary>
    [Required(ErrorMessage = "Setting 'OpenApi:Scopes' must name at least one scope.")]
    [RegularExpression(@"^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$",
        ErrorMessage = "Setting 'OpenApi:Scopes' must be scope names separated by single spaces (RFC 6749, section 3.3).")]
    public string Scopes { get; set; } = "openid insights";

    public string[] ScopeNames() => Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
