namespace Insights.Auth;

/// <summary>
/// Fluig Identity could not be reached to judge a token: the request is answered <c>503</c> with <c>Retry-After</c>,
/// never <c>401</c>, which would make a client drop a good token.
/// </summary>
public sealed class IdentityProviderUnavailableException(TimeSpan retryAfter)
    : Exception("Fluig Identity cannot be reached to check the token's signing key.")
{
    public TimeSpan RetryAfter { get; } = retryAfter;
}
