using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Insights.IdentityProvider;

/// <summary>The clients and people an <see cref="OpenIdProvider"/> knows; tests add them as they need them.</summary>
public sealed class ProviderDirectory
{
    private readonly ConcurrentDictionary<string, TenantClient> tenantClients = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PublicClient> publicClients = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ProviderUser> users = new(StringComparer.Ordinal);

    /// <summary>A confidential client of the client credentials grant whose tokens name <paramref name="tenantId"/>.</summary>
    public TenantClient AddTenantClient(string tenantId)
    {
        var client = new TenantClient("protheus-" + Guid.NewGuid().ToString("N")[..12], Convert.ToHexString(RandomNumberGenerator.GetBytes(16)), tenantId);
        tenantClients[client.ClientId] = client;
        return client;
    }

    /// <summary>A public client of the authorization code grant (PKCE), redirected only to the URIs given.</summary>
    public void AddPublicClient(string clientId, params Uri[] redirectUris)
    {
        var client = publicClients.GetOrAdd(clientId, id => new PublicClient(id, new ConcurrentDictionary<string, bool>(StringComparer.Ordinal)));
        foreach (var uri in redirectUris)
        {
            client.RedirectUris[uri.AbsoluteUri] = true;
        }
    }

    /// <summary>A person who signs in at the login page and whose tokens carry <paramref name="roles"/>.</summary>
    public ProviderUser AddUser(string name, string password, params string[] roles)
    {
        var user = new ProviderUser(name, password, roles);
        users[name] = user;
        return user;
    }

    internal TenantClient? FindTenantClient(string? clientId) =>
        clientId is not null && tenantClients.TryGetValue(clientId, out var client) ? client : null;

    internal PublicClient? FindPublicClient(string? clientId) =>
        clientId is not null && publicClients.TryGetValue(clientId, out var client) ? client : null;

    internal ProviderUser? FindUser(string? name) =>
        name is not null && users.TryGetValue(name, out var user) ? user : null;

    internal static bool SameSecret(string expected, string? given) =>
        given is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(expected), Encoding.UTF8.GetBytes(given));
}
