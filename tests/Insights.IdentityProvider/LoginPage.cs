using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Insights.IdentityProvider;

/// <summary>The provider's login page: a user name and a password, then back to the authorization request.</summary>
internal static class LoginPage
{
    public const string Path = "/account/login";

    public static void Map(WebApplication app)
    {
        app.MapGet(Path, (string? returnUrl) => Page(returnUrl, error: null));
        app.MapPost(Path, async (HttpContext context, ProviderDirectory directory) =>
        {
            var form = await context.Request.ReadFormAsync();
            var returnUrl = form["returnUrl"].ToString();
            if (directory.FindUser(form["username"]) is not { } user || !ProviderDirectory.SameSecret(user.Password, form["password"]))
            {
                return Page(returnUrl, "Unknown user or wrong password.");
            }

            var identity = new ClaimsIdentity(OpenIdProvider.LoginScheme, ClaimTypes.Name, ClaimTypes.Role);
            identity.AddClaim(new Claim(ClaimTypes.Name, user.Name));
            await context.SignInAsync(OpenIdProvider.LoginScheme, new ClaimsPrincipal(identity));
            // Only back to an authorization request of this provider.
            return Results.Redirect(returnUrl.StartsWith("/connect/authorize?", StringComparison.Ordinal) ? returnUrl : "/");
        });
    }

    private static IResult Page(string? returnUrl, string? error) => Results.Content(
        $"""
        <!DOCTYPE html>
        <html lang="en">
        <head><meta charset="utf-8"><title>Sign in</title></head>
        <body>
          <h1>Sign in</h1>
          {(error is null ? "" : $"<p role=\"alert\">{WebUtility.HtmlEncode(error)}</p>")}
          <form method="post" action="{Path}">
            <input type="hidden" name="returnUrl" value="{WebUtility.HtmlEncode(returnUrl ?? "")}">
            <label for="username">User name</label> <input id="username" name="username" autocomplete="username">
            <label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password">
            <button type="submit">Sign in</button>
          </form>
        </body>
        </html>
        """,
        "text/html; charset=utf-8");
}
