namespace Insights.Auth;

internal sealed class FluigIdentityOptionsValidator(IHostEnvironment environment) : IValidateOptions<FluigIdentityOptions>
{
    public ValidateOptionsResult Validate(string? name, FluigIdentityOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Authority))
        {
            if (!environment.IsDevelopment())
            {
                failures.Add("Setting 'Authentication:Authority' is required outside Development (the Fluig Identity issuer URL).");
            }
        }
        else if (!Uri.TryCreate(options.Authority, UriKind.Absolute, out var authority)
            || (authority.Scheme != Uri.UriSchemeHttps && authority.Scheme != Uri.UriSchemeHttp))
        {
            failures.Add($"Setting 'Authentication:Authority' must be an absolute http(s) URL; got '{options.Authority}'.");
        }
        else if (options.RequireHttpsMetadata && authority.Scheme != Uri.UriSchemeHttps)
        {
            failures.Add("Setting 'Authentication:Authority' must use https while 'Authentication:RequireHttpsMetadata' is true.");
        }

        Require(options.Audience, "Audience");
        Require(options.TenantClaim, "TenantClaim");
        Require(options.RoleClaim, "RoleClaim");
        Require(options.AdminRole, "AdminRole");
        Require(options.OperatorRole, "OperatorRole");
        Require(options.ViewerRole, "ViewerRole");
        Require(options.NameClaim, "NameClaim");
        var roleNames = new[] { options.AdminRole, options.OperatorRole, options.ViewerRole };
        if (roleNames.Distinct(StringComparer.Ordinal).Count() != roleNames.Length)
        {
            failures.Add("Settings 'Authentication:AdminRole', 'OperatorRole' and 'ViewerRole' must name three different roles.");
        }

        Require(options.DevelopmentIssuer, "DevelopmentIssuer");
        if (options.ClockSkewSeconds is < 0 or > 300)
        {
            failures.Add($"Setting 'Authentication:ClockSkewSeconds' must be between 0 and 300; got {options.ClockSkewSeconds}.");
        }

        if (options.MetadataRefreshMinutes is < 5 or > 1440)
        {
            failures.Add($"Setting 'Authentication:MetadataRefreshMinutes' must be between 5 and 1440; got {options.MetadataRefreshMinutes}.");
        }

        if (options.MetadataRetrySeconds is < 1 or > 300)
        {
            failures.Add($"Setting 'Authentication:MetadataRetrySeconds' must be between 1 and 300; got {options.MetadataRetrySeconds}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);

        void Require(string? value, string setting)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                failures.Add($"Setting 'Authentication:{setting}' must not be empty.");
            }
        }
    }
}
