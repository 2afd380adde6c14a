using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Insights.Auth;

/// <summary>
/// The Fluig Identity metadata and signing keys this node validates tokens with. A token that names a key the node does
/// not hold makes it fetch them again within that request, at most once per <c>MetadataRetrySeconds</c> for all requests
/// together, so the first token of a new key passes and forged key ids cannot make the node hammer the authority
/// (ADR 0023). While the authority cannot be reached, the keys held stay in use.
/// </summary>
internal sealed partial class FluigIdentityMetadata : IConfigurationManager<OpenIdConnectConfiguration>
{
    public const string HttpClientName = "fluig-identity";

    /// <summary>One fetch's limit: a request waiting for the keys gets its answer within this, whatever the authority does.</summary>
    public static readonly TimeSpan FetchTimeout = TimeSpan.FromSeconds(10);

    private readonly IDocumentRetriever documents;
    private readonly TimeProvider time;
    private readonly ILogger<FluigIdentityMetadata> logger;
    private readonly TimeSpan refreshInterval;
    private readonly TimeSpan retryInterval;
    private readonly Lock gate = new();

    private OpenIdConnectConfiguration? current;
    private DateTimeOffset fetchedAt;
    private Task<bool>? fetch;
    private DateTimeOffset? lastUnplannedAt;
    private DateTimeOffset? failingSince;
    private DateTimeOffset lastFailureAt;

    public FluigIdentityMetadata(
        IOptions<FluigIdentityOptions> options, IHttpClientFactory httpClients, TimeProvider time, ILogger<FluigIdentityMetadata> logger)
    {
        var settings = options.Value;
        var authority = settings.Authority ?? throw new InvalidOperationException("Setting 'Authentication:Authority' is not set.");
        Address = authority.TrimEnd('/') + "/.well-known/openid-configuration";
        documents = new HttpDocumentRetriever(httpClients.CreateClient(HttpClientName)) { RequireHttps = settings.RequireHttpsMetadata };
        refreshInterval = TimeSpan.FromMinutes(settings.MetadataRefreshMinutes);
        retryInterval = TimeSpan.FromSeconds(settings.MetadataRetrySeconds);
        this.time = time;
        this.logger = logger;
    }

    /// <summary>The authority's discovery document.</summary>
    public string Address { get; }

    /// <summary>
    /// Makes sure the node can judge a token signed with key <paramref name="keyId"/>: it fetches the keys when it holds
    /// none, or none of that id, unless an unplanned fetch ran within the retry interval (then the request joins a fetch
    /// in flight, or does without). Null when the token can be judged (a key it still does not hold is the token's
    /// fault); otherwise how long until the node asks the authority again, as it could not reach it.
    /// </summary>
    public async Task<TimeSpan?> PrepareAsync(string? keyId, CancellationToken cancellationToken)
    {
        Task<bool>? pending;
        lock (gate)
        {
            var now = time.GetUtcNow();
            if (current is not null && Holds(current, keyId))
            {
                StartPlannedRefreshIfDue(now);
                return null;
            }

            pending = fetch is { IsCompleted: false } ? fetch : StartUnplannedFetch(now);
            if (pending is null)
            {
                return current is not null && failingSince is null ? null : RetryAfter(now);
            }
        }

        await pending.WaitAsync(cancellationToken);
        lock (gate)
        {
            if (current is null || (failingSince is not null && !Holds(current, keyId)))
            {
                return RetryAfter(time.GetUtcNow());
            }

            return null;
        }
    }

    public async Task<OpenIdConnectConfiguration> GetConfigurationAsync(CancellationToken cancel)
    {
        var unavailableFor = await PrepareAsync(null, cancel);
        lock (gate)
        {
            return current ?? throw new IdentityProviderUnavailableException(unavailableFor ?? retryInterval);
        }
    }

    /// <summary>A fetch in the background, within the same limit as the unplanned fetches of requests.</summary>
    public void RequestRefresh()
    {
        lock (gate)
        {
            StartUnplannedFetch(time.GetUtcNow());
        }
    }

    /// <summary>
    /// Whether the configuration has the key a token names. A token without a key id, or keys without one, leave the
    /// choice to validation, which then tries every key.
    /// </summary>
    private static bool Holds(OpenIdConnectConfiguration configuration, string? keyId) =>
        string.IsNullOrEmpty(keyId)
        || configuration.SigningKeys.Any(k => string.IsNullOrEmpty(k.KeyId) || string.Equals(k.KeyId, keyId, StringComparison.Ordinal));

    private void StartPlannedRefreshIfDue(DateTimeOffset now)
    {
        var due = now >= fetchedAt + refreshInterval && (failingSince is null || now >= lastFailureAt + retryInterval);
        if (due && fetch is not { IsCompleted: false })
        {
            fetch = Task.Run(FetchAsync);
        }
    }

    private Task<bool>? StartUnplannedFetch(DateTimeOffset now)
    {
        if (fetch is { IsCompleted: false })
        {
            return fetch;
        }

        if (lastUnplannedAt is { } last && now < last + retryInterval)
        {
            return null;
        }

        lastUnplannedAt = now;
        fetch = Task.Run(FetchAsync);
        return fetch;
    }

    private TimeSpan RetryAfter(DateTimeOffset now)
    {
        var next = (lastUnplannedAt ?? now) + retryInterval - now;
        return TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling(next.TotalSeconds)));
    }

    private async Task<bool> FetchAsync()
    {
        OpenIdConnectConfiguration configuration;
        try
        {
            // Whatever goes wrong (no answer, an error status, a document that does not parse), the keys held stay.
            configuration = await OpenIdConnectConfigurationRetriever.GetAsync(Address, documents, CancellationToken.None);
        }
        catch (Exception e)
        {
            bool first;
            int held;
            lock (gate)
            {
                lastFailureAt = time.GetUtcNow();
                first = failingSince is null;
                failingSince ??= lastFailureAt;
                held = current?.SigningKeys.Count ?? 0;
            }

            if (first)
            {
                LogUnreachable(Address, held, e.Message);
            }

            return false;
        }

        string? before;
        DateTimeOffset? outageSince;
        lock (gate)
        {
            before = current is null ? null : KeyIds(current);
            outageSince = failingSince;
            current = configuration;
            fetchedAt = time.GetUtcNow();
            failingSince = null;
        }

        if (outageSince is { } since)
        {
            LogReachedAgain(Address, time.GetUtcNow() - since);
        }

        var after = KeyIds(configuration);
        if (before != after)
        {
            LogKeys(after);
        }

        return true;
    }

    private static string KeyIds(OpenIdConnectConfiguration configuration) =>
        string.Join(", ", configuration.SigningKeys.Select(k => k.KeyId).Order(StringComparer.Ordinal));

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Fluig Identity cannot be reached at {Address} ({Reason}); tokens of the {Held} signing keys held are still accepted, others get 503 until it answers")]
    private partial void LogUnreachable(string address, int held, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Fluig Identity answers again at {Address}, after {Outage}")]
    private partial void LogReachedAgain(string address, TimeSpan outage);

    [LoggerMessage(Level = LogLevel.Information, Message = "Fluig Identity signing keys: {KeyIds}")]
    private partial void LogKeys(string keyIds);
}
