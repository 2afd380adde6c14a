using System.Collections.Concurrent;

namespace Insights.IdentityProvider;

/// <summary>A Protheus client: client credentials, and the tenant its tokens name.</summary>
public sealed record TenantClient(string ClientId, string Secret, string TenantId);

/// <summary>A person and the roles of their tokens.</summary>
public sealed record ProviderUser(string Name, string Password, IReadOnlyList<string> Roles);

/// <summary>A public client (Swagger UI) and the URIs it may be redirected to.</summary>
internal sealed record PublicClient(string ClientId, ConcurrentDictionary<string, bool> RedirectUris);
