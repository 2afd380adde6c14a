using Microsoft.Playwright;

namespace Insights.IntegrationTests.Infrastructure;

/// <summary>
/// Debian's Chromium (<c>/usr/bin/chromium</c>, or <c>INSIGHTS_TEST_CHROMIUM</c>), headless, driven by Playwright;
/// <c>scripts/test.sh</c> installs it. Playwright's own browser download is never used. A test that needs it is
/// skipped, saying why, only when the browser cannot start.
/// </summary>
public sealed class Chromium : IAsyncDisposable
{
    private readonly IPlaywright playwright;

    private Chromium(IPlaywright playwright, IBrowser browser)
    {
        this.playwright = playwright;
        Browser = browser;
    }

    public IBrowser Browser { get; }

    public static async Task<Chromium> LaunchAsync()
    {
        var path = Environment.GetEnvironmentVariable("INSIGHTS_TEST_CHROMIUM") is { Length: > 0 } configured ? configured : "/usr/bin/chromium";
        Skip.IfNot(File.Exists(path), $"No browser at {path}: scripts/test.sh installs Debian's chromium (or set INSIGHTS_TEST_CHROMIUM).");
        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = path,
                Headless = true,
                // This machine reaches no network but loopback: no background calls, no updates, no QUIC.
                Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
            });
            return new Chromium(playwright, browser);
        }
        catch (PlaywrightException e)
        {
            playwright.Dispose();
            Skip.If(true, $"The browser at {path} did not start: {e.Message}");
            throw;
        }
    }

    /// <summary>A page of a new browser context (its own cookies and storage: one person).</summary>
    public async Task<IPage> NewPageAsync()
    {
        var context = await Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        // A cap for a page that never gets there, not a speed limit.
        page.SetDefaultTimeout(60_000);
        return page;
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        playwright.Dispose();
    }
}
