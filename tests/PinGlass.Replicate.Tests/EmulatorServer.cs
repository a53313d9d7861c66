using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using PinGlass.ReplicateEmulator;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace PinGlass.Replicate.Tests;

/// <summary>The real Replicate emulator on Kestrel (127.0.0.1, random port), 100× faster than Replicate.</summary>
public sealed class EmulatorServer(WebApplication app, Uri baseAddress) : IAsyncDisposable
{
    private readonly HttpClient control = new() { BaseAddress = baseAddress };

    public Uri BaseAddress => baseAddress;

    /// <summary>A small face picture: cheap to send many times.</summary>
    public static readonly string Face = MakeFace();

    public static async Task<EmulatorServer> StartAsync(params (string Key, string? Value)[] settings)
    {
        var configuration = new Dictionary<string, string?> { ["ReplicateEmulator:TimeScale"] = "100" };
        foreach (var (key, value) in settings)
        {
            configuration[key] = value;
        }

        var (app, address) = await EmulatorApp.StartOnLoopbackAsync(configuration, TestContext.Current.CancellationToken);
        return new EmulatorServer(app, address);
    }

    /// <summary>Replaces the emulator's fault rules (<c>/_emulator/faults</c>).</summary>
    public async Task SetFaultsAsync(params object[] rules)
    {
        using var response = await control.PutAsJsonAsync("/_emulator/faults", rules, TestContext.Current.CancellationToken);
        response.EnsureSuccessStatusCode();
    }

    public async Task<long> InjectedAsync(string kind)
    {
        var faults = await control.GetFromJsonAsync<JsonElement>("/_emulator/faults", TestContext.Current.CancellationToken);
        return faults.GetProperty("injected").TryGetProperty(kind, out var count) ? count.GetInt64() : 0;
    }

    /// <summary>The billing ledger: (prediction id, model, status, cost) of every finished prediction.</summary>
    public async Task<IReadOnlyList<(string Id, string Model, string Status, decimal Cost)>> LedgerAsync()
    {
        var ledger = await control.GetFromJsonAsync<JsonElement>("/_emulator/ledger", TestContext.Current.CancellationToken);
        return [.. ledger.GetProperty("entries").EnumerateArray().Select(e => (e.GetProperty("prediction_id").GetString()!,
            e.GetProperty("model").GetString()!, e.GetProperty("status").GetString()!, e.GetProperty("cost_usd").GetDecimal()))];
    }

    /// <summary>The ledger once it holds at least <paramref name="count"/> entries (a prediction is billed just after it ends).</summary>
    public async Task<IReadOnlyList<(string Id, string Model, string Status, decimal Cost)>> LedgerAsync(int count)
    {
        for (var i = 0; i < 200; i++)
        {
            var entries = await LedgerAsync();
            if (entries.Count >= count)
            {
                // Anything still to be billed would land now; a duplicate must not slip past the assertion.
                await Task.Delay(300, TestContext.Current.CancellationToken);
                return await LedgerAsync();
            }

            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        return await LedgerAsync();
    }

    private static string MakeFace()
    {
        using var image = new Image<Rgb24>(64, 64, new Rgb24(224, 172, 140));
        using var png = new MemoryStream();
        image.SaveAsPng(png);
        return "data:image/png;base64," + Convert.ToBase64String(png.ToArray());
    }

    public async ValueTask DisposeAsync()
    {
        control.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
