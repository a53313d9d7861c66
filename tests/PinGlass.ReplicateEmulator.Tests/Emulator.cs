using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Processing;
using PinGlass.ReplicateEmulator.Tests.Contract;

namespace PinGlass.ReplicateEmulator.Tests;

/// <summary>A real emulator on Kestrel (127.0.0.1, random port), 100× faster than Replicate unless told otherwise.</summary>
public sealed class Emulator : IAsyncDisposable
{
    public const string Token = "r8_pinglass_emulator_local_token";
    public const string FluxPulid = "bytedance/flux-pulid:8baa7ef2255075b46f4d91cd238c21d31181b3e6a864463f967960bb0112525b";

    private readonly WebApplication app;

    private Emulator(WebApplication app, Uri baseAddress)
    {
        this.app = app;
        BaseAddress = baseAddress;
        Client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(100) };
        Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        Anonymous = new HttpClient { BaseAddress = baseAddress };
    }

    public Uri BaseAddress { get; }

    /// <summary>Sends the bearer token.</summary>
    public HttpClient Client { get; }

    /// <summary>Sends no token (the emulator's control plane and output files need none).</summary>
    public HttpClient Anonymous { get; }

    public IServiceProvider Services => app.Services;

    public static async Task<Emulator> StartAsync(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var configuration = new Dictionary<string, string?> { ["ReplicateEmulator:TimeScale"] = "100" };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            configuration[key] = value;
        }

        var (app, address) = await EmulatorApp.StartOnLoopbackAsync(configuration, TestContext.Current.CancellationToken);
        return new Emulator(app, address);
    }

    private static readonly Lazy<string> SmallFace = new(() =>
    {
        using var image = SixLabors.ImageSharp.Image.Load(FixturePath("astronaut.png"));
        image.Mutate(x => x.Resize(128, 128));
        using var png = new MemoryStream();
        image.SaveAsPng(png);
        return "data:image/png;base64," + Convert.ToBase64String(png.ToArray());
    });

    public static string FixturePath(string file) => Path.Combine(AppContext.BaseDirectory, "Fixtures", file);

    public static string FaceDataUrl(string file = "astronaut.png")
    {
        // A JPEG: the fixture PNG's data URL (1 MB) is over the 256 kB Replicate takes.
        using var image = SixLabors.ImageSharp.Image.Load(FixturePath(file));
        using var jpeg = new MemoryStream();
        image.SaveAsJpeg(jpeg);
        return "data:image/jpeg;base64," + Convert.ToBase64String(jpeg.ToArray());
    }

    /// <summary>The user's face at 128×128: cheap to send hundreds of times.</summary>
    public static string SmallFaceDataUrl => SmallFace.Value;

    /// <summary>POSTs a JSON body; returns the response and its parsed body.</summary>
    public async Task<(HttpResponseMessage Response, JsonElement Body)> PostAsync(string path, object body, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        var response = await Client.SendAsync(request, TestContext.Current.CancellationToken);
        return (response, await ReadAsync(response));
    }

    public async Task<(HttpResponseMessage Response, JsonElement Body)> GetAsync(string pathOrUrl, HttpClient? client = null)
    {
        var response = await (client ?? Client).GetAsync(pathOrUrl, TestContext.Current.CancellationToken);
        return (response, await ReadAsync(response));
    }

    /// <summary>Creates a flux-pulid prediction (small output unless the input says otherwise) and checks the 201 against the contract.</summary>
    public async Task<JsonElement> CreateFluxPulidAsync(Dictionary<string, object?>? input = null, object? extra = null, params (string, string)[] headers)
    {
        var fullInput = new Dictionary<string, object?> { ["main_face_image"] = SmallFaceDataUrl, ["width"] = 256, ["height"] = 256, ["output_format"] = "jpg" };
        foreach (var (key, value) in input ?? [])
        {
            fullInput[key] = value;
        }

        var body = JsonSerializer.SerializeToElement(new { version = FluxPulid, input = fullInput });
        if (extra is not null)
        {
            var merged = JsonSerializer.SerializeToNode(body)!.AsObject();
            foreach (var (key, value) in JsonSerializer.SerializeToNode(extra)!.AsObject())
            {
                merged[key] = value?.DeepClone();
            }

            body = JsonSerializer.SerializeToElement(merged);
        }

        var (response, created) = await PostAsync("/v1/predictions", body, headers);
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        OpenApiContract.AssertValid(created, "/predictions", "post", "201");
        return created;
    }

    public async Task<JsonElement> GetPredictionAsync(string id)
    {
        var (response, body) = await GetAsync($"/v1/predictions/{id}");
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        OpenApiContract.AssertValid(body, "/predictions/{prediction_id}", "get", "200");
        return body;
    }

    /// <summary>Polls the prediction until the condition holds (generous timeout: this is a 2-core CI machine).</summary>
    public async Task<JsonElement> WaitForAsync(string id, Func<JsonElement, bool> condition, int timeoutSeconds = 60)
    {
        var until = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (true)
        {
            var prediction = await GetPredictionAsync(id);
            if (condition(prediction))
            {
                return prediction;
            }

            Assert.True(DateTime.UtcNow < until, $"Prediction {id} did not reach the expected state: {prediction}");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }

    public Task<JsonElement> WaitForTerminalAsync(string id) =>
        WaitForAsync(id, p => p.GetProperty("status").GetString() is "succeeded" or "failed" or "canceled" or "aborted");

    public async Task SetFaultsAsync(params object[] rules)
    {
        var response = await Anonymous.PutAsJsonAsync("/_emulator/faults", rules, TestContext.Current.CancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
    }

    public async Task<long> InjectedAsync(string kind)
    {
        var (_, body) = await GetAsync("/_emulator/faults", Anonymous);
        return body.GetProperty("injected").TryGetProperty(kind, out var count) ? count.GetInt64() : 0;
    }

    public static async Task<JsonElement> ReadAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        Anonymous.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
    }
}

/// <summary>One emulator per test class (classes run in parallel, each with its own state).</summary>
public sealed class EmulatorFixture : IAsyncLifetime
{
    public Emulator Emulator { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Emulator = await Emulator.StartAsync();

    public ValueTask DisposeAsync() => Emulator.DisposeAsync();
}
