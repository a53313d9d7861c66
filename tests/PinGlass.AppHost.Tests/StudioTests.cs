using System.IO.Compression;
using System.Text.Json;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using PinGlass.Fixtures;
using PinGlass.Platform;

namespace PinGlass.AppHost.Tests;

/// <summary>
/// The web studio in a real browser (Debian's chromium, driven by Playwright; never a downloaded browser) against the AppHost: photos
/// picked and previewed, the quality report, progress to 23/23, every portrait decoded, the full-size view, a retry, the zip, a cancel;
/// the page checked for accessibility (axe) and keyboard use. A screenshot of the gallery is kept with the test results.
/// </summary>
[Collection(SharedEmulator.Collection)]
public sealed class StudioTests(PinGlassApp pinglass) : IAsyncLifetime
{
    /// <summary>Where eng/bootstrap.sh puts Debian's chromium.</summary>
    private const string Chromium = "/usr/bin/chromium";

    private static readonly TimeSpan Generation = TimeSpan.FromMinutes(4);

    private readonly DirectoryInfo work = Directory.CreateTempSubdirectory("pinglass-studio-");
    private readonly string user = $"studio-{Guid.NewGuid():N}";
    private IPlaywright playwright = null!;
    private IBrowser browser = null!;

    /// <summary>Script errors and failed loads on the page: a test fails with them named.</summary>
    private readonly List<string> pageErrors = [];

    /// <summary>
    /// Set as the browser is closed: what fails then is the closing's (a stream still open when the test ends is cut, and chromium logs
    /// ERR_INCOMPLETE_CHUNKED_ENCODING for it), not the page's.
    /// </summary>
    private volatile bool closing;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        // What the page waits for is a whole generation on a loaded machine; a test's own timeout still bounds it.
        Assertions.SetDefaultExpectTimeout((float)Generation.TotalMilliseconds);
        playwright = await Playwright.CreateAsync();
        // As root (CI) chromium needs --no-sandbox.
        browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
    }

    private async Task<IPage> OpenStudioAsync()
    {
        var context = await browser.NewContextAsync(new() { ViewportSize = new() { Width = 1280, Height = 1000 }, AcceptDownloads = true });
        var page = await context.NewPageAsync();
        page.PageError += (_, error) =>
        {
            if (!closing)
            {
                pageErrors.Add(error);
            }
        };
        page.Console += (_, message) =>
        {
            if (closing)
            {
                return;
            }

            // Chromium logs every 4xx and 5xx as an error; the 429s and 503s the page waits out (a loaded machine) are not the page's.
            if (message.Type == "error" && !message.Text.Contains("status of 429", StringComparison.Ordinal)
                && !message.Text.Contains("status of 503", StringComparison.Ordinal))
            {
                pageErrors.Add(message.Text);
            }
        };
        page.SetDefaultTimeout((float)Generation.TotalMilliseconds);
        var api = pinglass.App.GetEndpoint(ResourceNames.Api, "http").AbsoluteUri.TrimEnd('/');
        await page.GotoAsync($"{api}/studio/#key={ApiClients.DemoKey}&user={user}");
        // The key is taken out of the address bar at once.
        Assert.True(!page.Url.Contains(ApiClients.DemoKey, StringComparison.Ordinal), string.Join("\n", pageErrors));
        return page;
    }

    private string[] PhotoFiles(params string[] names) =>
    [
        .. GenerationClient.Photos.Where(p => names.Contains(p.FileName)).Select(p =>
        {
            var path = Path.Combine(work.FullName, p.FileName);
            File.WriteAllBytes(path, p.Content.ToArray());
            return path;
        }),
    ];

    [Fact]
    public async Task A_person_uploads_watches_23_portraits_arrive_views_one_makes_one_again_and_downloads_them_all()
    {
        var page = await OpenStudioAsync();
        await page.GetByLabel("Choose photos…").SetInputFilesAsync(PhotoFiles("astronaut.png", "crop-centre.jpg", "camera.png"));
        await Assertions.Expect(page.Locator("#photo-count")).ToContainTextAsync("3 photos chosen");
        Assert.Equal(3, await page.Locator("#previews img").CountAsync());

        await page.GetByRole(AriaRole.Button, new() { Name = "Start the generation" }).ClickAsync();

        // The quality report: the person's photos chosen, the stranger turned away with the reason.
        var report = page.Locator("#photo-report tbody tr");
        await Assertions.Expect(report).ToHaveCountAsync(3);
        await Assertions.Expect(report.Filter(new() { HasText = "astronaut.png" })).ToContainTextAsync("Chosen");
        await Assertions.Expect(report.Filter(new() { HasText = "camera.png" })).ToContainTextAsync("another person");

        await Assertions.Expect(page.Locator("#progress-text")).ToContainTextAsync("23/23 portraits, completed");
        await WaitForImagesAsync(page, 23);
        var screenshot = await page.ScreenshotAsync(new() { FullPage = true });
        Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "TestResults"));
        await File.WriteAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "TestResults", "studio-gallery.png"), screenshot, Token);
        TestContext.Current.AddAttachment("studio-gallery.png", screenshot, "image/png");

        // The full-size view: opened from the keyboard, closed with Escape.
        await page.GetByRole(AriaRole.Button, new() { Name = "View Professional headshot full size" }).FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.Locator("#viewer")).ToBeVisibleAsync();
        Assert.True(await page.Locator("#viewer-image").EvaluateAsync<bool>("image => image.complete && image.naturalWidth > 0"));
        await page.Keyboard.PressAsync("Escape");
        await Assertions.Expect(page.Locator("#viewer")).ToBeHiddenAsync();

        // All of them as one zip.
        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Download all (zip)" }).ClickAsync());
        var zipPath = Path.Combine(work.FullName, "all.zip");
        await download.SaveAsAsync(zipPath);
        using (var zip = ZipFile.OpenRead(zipPath))
        {
            Assert.Equal(23, zip.Entries.Count);
            Assert.All(zip.Entries, e => Assert.True(e.Length > 1000, e.Name));
        }

        // One made again: its card shows the new image once its second attempt has delivered.
        var id = Guid.Parse((await page.Locator("#generation-id").TextContentAsync())!.Replace("Generation ", "", StringComparison.Ordinal));
        var before = await page.Locator("#portrait-0 img").GetAttributeAsync("src");
        await page.GetByRole(AriaRole.Button, new() { Name = "Make Professional headshot again" }).ClickAsync();
        using var client = GenerationClient.For(pinglass.App, user: user);
        var retried = await Poll.UntilAsync(() => client.GetAsync(id), view => view.GetProperty("portraits")[0] is var first
            && first.GetProperty("attempts").GetArrayLength() >= 2 && first.GetProperty("status").GetString() == "succeeded", Generation);
        Assert.True(retried.GetProperty("portraits")[0].GetProperty("attempts").GetArrayLength() >= 2, retried.ToString());
        await Assertions.Expect(page.Locator("#progress-text")).ToContainTextAsync("23/23 portraits, completed");
        await Assertions.Expect(page.Locator("#portrait-0 .status-succeeded")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#portrait-0 img")).Not.ToHaveAttributeAsync("src", before!);
        await WaitForImagesAsync(page, 23);
    }

    [Fact]
    public async Task A_running_generation_is_cancelled_from_the_page()
    {
        using var client = GenerationClient.For(pinglass.App);
        // Every model boots for an hour: the generation is still running when the button is pressed, however loaded the machine.
        await client.SetFaultsAsync("""[{"kind":"cold_start","duration":"01:00:00"}]""");
        try
        {
            var page = await OpenStudioAsync();
            await page.GetByLabel("Choose photos…").SetInputFilesAsync(PhotoFiles("astronaut.png"));
            await page.GetByRole(AriaRole.Button, new() { Name = "Start the generation" }).ClickAsync();
            await Assertions.Expect(page.Locator("#progress-text")).ToContainTextAsync("running");
            await page.GetByRole(AriaRole.Button, new() { Name = "Cancel the generation" }).ClickAsync();
            await Assertions.Expect(page.Locator("#progress-text")).ToContainTextAsync("cancelled");
            await Assertions.Expect(page.Locator("#gallery li").First).ToContainTextAsync("Cancelled");
        }
        finally
        {
            await client.SetFaultsAsync("[]");
        }
    }

    [Fact]
    public async Task The_page_passes_an_accessibility_check_and_is_used_from_the_keyboard()
    {
        var page = await OpenStudioAsync();
        var axe = await page.RunAxe();
        Assert.True(axe.Violations.Length == 0,
            string.Join("\n", axe.Violations.Select(v => $"{v.Id} ({v.Impact}): {v.Help} — {string.Join(", ", v.Nodes.Select(n => n.Html))}")));

        // Tab reaches every control in reading order, the file picker included.
        var reached = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            await page.Keyboard.PressAsync("Tab");
            reached.Add(await page.EvaluateAsync<string>("() => document.activeElement?.id ?? ''"));
        }

        Assert.Equal(["api-key", "user-id", "photo-input", "budget"], reached.Where(id => id.Length > 0).Take(4));
    }

    /// <summary>Waits until <paramref name="count"/> portraits are on the page, each decoded (natural width above zero).</summary>
    private static async Task WaitForImagesAsync(IPage page, int count) =>
        await page.WaitForFunctionAsync(
            "count => [...document.querySelectorAll('#gallery img')].filter(i => i.complete && i.naturalWidth > 0).length === count", count,
            new() { Timeout = (float)Generation.TotalMilliseconds });

    public async ValueTask DisposeAsync()
    {
        try
        {
            closing = true;
            await browser.DisposeAsync();
            playwright.Dispose();
            work.Delete(recursive: true);
        }
        finally
        {
            Assert.True(pageErrors.Count == 0, string.Join("\n", pageErrors));
        }
    }
}
