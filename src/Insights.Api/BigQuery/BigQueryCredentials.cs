using Google.Apis.Auth.OAuth2;

namespace Insights.BigQuery;

/// <summary>
/// The Google credential of the BigQuery client, created on first use: the service-account file of
/// <c>BigQuery:CredentialsFile</c>, or application default credentials when it is blank. The credential caches and
/// refreshes its token. A failed creation is not cached, so the next call tries again.
/// </summary>
public sealed class BigQueryCredentials(IOptions<BigQueryOptions> options) : ITokenAccess, IDisposable
{
    private readonly SemaphoreSlim gate = new(1, 1);
    private ITokenAccess? access;

    public async Task<string> GetAccessTokenForRequestAsync(string? authUri = null, CancellationToken cancellationToken = default)
    {
        var credential = access ?? await CreateAsync(cancellationToken);
        return await credential.GetAccessTokenForRequestAsync(authUri, cancellationToken);
    }

    private async Task<ITokenAccess> CreateAsync(CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (access is not null)
            {
                return access;
            }

            var file = options.Value.CredentialsFile;
            var credential = string.IsNullOrWhiteSpace(file)
                ? await GoogleCredential.GetApplicationDefaultAsync(cancellationToken)
                : CredentialFactory.FromFile<ServiceAccountCredential>(file).ToGoogleCredential();
            // GoogleCredential implements ITokenAccess explicitly.
            return access = credential.CreateScoped(BigQueryOptions.Scope);
        }
        finally
        {
            gate.Release();
        }
    }

    public void Dispose() => gate.Dispose();
}
