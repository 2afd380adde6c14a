using System.Net;
using System.Net.Http.Json;
using Insights.IdentityProvider;
using Insights.IntegrationTests.Infrastructure;
using Microsoft.Playwright;

namespace Insights.IntegrationTests.Foundation;

/// <summary>
/// People sign in from Swagger UI, in a real browser: Authorize, the provider's login page, back to Swagger UI with a
/// token, and "Try it out" with it.
/// </summary>
[Collection(OpenIdProviderHost.Name)]
public sealed class SwaggerSignInTests(OpenIdProviderFixture fixture)
{
    [SkippableFact]
    public async Task An_admin_signs_in_from_swagger_ui_and_lists_tenants_and_a_viewers_delete_is_refused()
    {
        using var admin = fixture.Client(await fixture.AdminTokenAsync());
        var tenantId = InsightsFixture.NewTenantId("swagger");
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/tenants", new { id = tenantId, name = tenantId })).StatusCode);
        await using var chromium = await Chromium.LaunchAsync();

        var adminPage = await SignInAsync(chromium, fixture.Admin);
        Assert.Equal("200", await TryAsync(adminPage, "Tenants-ListTenants"));

        var viewerPage = await SignInAsync(chromium, fixture.Viewer);
        Assert.Equal("403", await TryAsync(viewerPage, "Tenants-DeleteTenant", ("tenantId", tenantId)));
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/api/v1/tenants/{tenantId}")).StatusCode);
    }

    /// <summary>Opens Swagger UI, presses Authorize and signs in at the provider's login page in the window it opens.</summary>
    private async Task<IPage> SignInAsync(Chromium chromium, ProviderUser user)
    {
        var page = await chromium.NewPageAsync();
        await page.GotoAsync(new Uri(fixture.BaseAddress, "/swagger").AbsoluteUri);
        await page.Locator(".auth-wrapper button.authorize").ClickAsync();
        var dialog = page.Locator(".modal-ux");
        var login = await page.RunAndWaitForPopupAsync(() => dialog.Locator("button.modal-btn.authorize").ClickAsync());
        await login.Locator("#username").FillAsync(user.Name);
        await login.Locator("#password").FillAsync(user.Password);
        await login.Locator("button[type=submit]").ClickAsync();
        // The redirect page hands the code to Swagger UI, which redeems it and shows the way out.
        var logout = dialog.Locator("button.modal-btn", new LocatorLocatorOptions { HasText = "Logout" });
        try
        {
            await logout.WaitForAsync();
        }
        catch (TimeoutException)
        {
            Assert.Fail($"Swagger UI did not sign {user.Name} in. It shows: {await dialog.InnerTextAsync()}");
        }

        await dialog.Locator("button.close-modal").ClickAsync();
        return page;
    }

    /// <summary>"Try it out" and "Execute" on an operation; the status code Swagger UI shows.</summary>
    private static async Task<string> TryAsync(IPage page, string operation, params (string Name, string Value)[] parameters)
    {
        var block = page.Locator($"#operations-{operation}");
        await block.Locator(".opblock-summary").First.ClickAsync();
        await block.Locator("button.try-out__btn").ClickAsync();
        foreach (var (name, value) in parameters)
        {
            await block.Locator($"tr[data-param-name='{name}'] input").FillAsync(value);
        }

        await block.Locator("button.execute").ClickAsync();
        var status = block.Locator(".live-responses-table .response .response-col_status");
        await status.WaitForAsync();
        return (await status.InnerTextAsync()).Trim().Split(null)[0];
    }
}
