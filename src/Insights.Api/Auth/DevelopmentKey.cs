using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Insights.Auth;

/// <summary>
/// The local RSA key that signs development tokens. It is created on first use and trusted by the host
/// only in the Development environment.
/// </summary>
public static class DevelopmentKey
{
    public const string KeyId = "insights-dev";

    public static string ResolvePath(string? configured) =>
        string.IsNullOrWhiteSpace(configured)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".insights", "dev-signing-key.pem")
            : Path.GetFullPath(configured);

    public static RsaSecurityKey LoadOrCreate(string path)
    {
        var rsa = RSA.Create();
        if (File.Exists(path))
        {
            rsa.ImportFromPem(File.ReadAllText(path));
        }
        else
        {
            rsa.KeySize = 2048;
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var pem = rsa.ExportRSAPrivateKeyPem();
            // Written to a temporary file first so two processes starting together never read half a key.
            var temporary = path + "." + Guid.NewGuid().ToString("N");
            File.WriteAllText(temporary, pem);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            try
            {
                File.Move(temporary, path, overwrite: false);
            }
            catch (IOException) when (File.Exists(path))
            {
                File.Delete(temporary);
                rsa.ImportFromPem(File.ReadAllText(path));
            }
        }

        return new RsaSecurityKey(rsa) { KeyId = KeyId };
    }

    /// <summary>Mints a development token with the given claims, signed RS256.</summary>
    public static string Mint(RsaSecurityKey key, FluigIdentityOptions options, IEnumerable<Claim> claims, TimeSpan lifetime)
    {
        var now = DateTime.UtcNow;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = options.DevelopmentIssuer,
            Audience = options.Audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + lifetime,
            Subject = new ClaimsIdentity(claims),
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.RsaSha256),
        };
        return new JsonWebTokenHandler().CreateToken(descriptor);
    }
}
