using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace PinGlass.Benchmarks;

/// <summary>One prediction as the load saw it. Times are wall-clock.</summary>
/// <param name="ClientWall">From sending the create to seeing the terminal status.</param>
/// <param name="ServerWall">completed_at − created_at, as the emulator stamped them.</param>
/// <param name="Modelled">The prediction's modelled <c>total_time</c> divided by the time scale: what it should take.</param>
public sealed record PredictionTiming(string Id, string Status, string? Error, TimeSpan ClientWall, TimeSpan ServerWall, TimeSpan Modelled)
{
    /// <summary>What the emulator adds beyond the modelled latency.</summary>
    public TimeSpan ServerOverhead => ServerWall - Modelled;

    /// <summary>What a client sees beyond the modelled latency (includes HTTP, JSON and polling).</summary>
    public TimeSpan ClientOverhead => ClientWall - Modelled;
}

public sealed record LoadResult(IReadOnlyList<PredictionTiming> Predictions, IReadOnlyList<string> Errors, TimeSpan Elapsed);

/// <summary>
/// Runs N concurrent flux-pulid predictions against an emulator the way PinGlass does (create with <c>Prefer: wait</c>,
/// then poll until terminal) and times each one. Shared by the benchmark command and the load tests.
/// </summary>
public static class EmulatorLoad
{
    public const string FluxPulid = "bytedance/flux-pulid:8baa7ef2255075b46f4d91cd238c21d31181b3e6a864463f967960bb0112525b";

    /// <summary>Uploads the face once through the Files API, as a client would for a reference used many times.</summary>
    public static async Task<string> UploadFaceAsync(HttpClient client, string path, CancellationToken cancellationToken)
    {
        using var form = new MultipartFormDataContent();
        var content = new ByteArrayContent(await File.ReadAllBytesAsync(path, cancellationToken));
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        form.Add(content, "content", Path.GetFileName(path));
        using var response = await client.PostAsync("v1/files", form, cancellationToken);
        response.EnsureSuccessStatusCode();
        using var file = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return file.RootElement.GetProperty("urls").GetProperty("get").GetString()!;
    }

    /// <param name="client">Has the emulator's base address (ending in '/') and the bearer token.</param>
    /// <param name="input">The flux-pulid input of every prediction.</param>
    public static async Task<LoadResult> RunAsync(HttpClient client, int count, object input, double timeScale, CancellationToken cancellationToken)
    {
        var errors = new List<string>();
        var clock = Stopwatch.StartNew();
        var body = JsonSerializer.Serialize(new { version = FluxPulid, input });
        var runs = Enumerable.Range(0, count).Select(async _ =>
        {
            try
            {
                return await RunOneAsync(client, body, timeScale, cancellationToken);
            }
            catch (Exception e) when (e is HttpRequestException or InvalidOperationException or JsonException)
            {
                lock (errors)
                {
                    errors.Add(e.Message);
                }

                return null;
            }
        });
        var timings = await Task.WhenAll(runs);
        return new([.. timings.OfType<PredictionTiming>()], errors, clock.Elapsed);
    }

    private static async Task<PredictionTiming> RunOneAsync(HttpClient client, string body, double timeScale, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var create = new HttpRequestMessage(HttpMethod.Post, "v1/predictions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        create.Headers.Add("Prefer", "wait");
        var prediction = await SendAsync(client, create, cancellationToken);
        var id = prediction.GetProperty("id").GetString()!;
        while (prediction.GetProperty("status").GetString() is "starting" or "processing")
        {
            await Task.Delay(10, cancellationToken);
            using var get = new HttpRequestMessage(HttpMethod.Get, $"v1/predictions/{id}");
            prediction = await SendAsync(client, get, cancellationToken);
        }

        var clientWall = clock.Elapsed;
        var serverWall = prediction.GetProperty("completed_at").GetDateTimeOffset() - prediction.GetProperty("created_at").GetDateTimeOffset();
        var modelled = TimeSpan.FromSeconds(prediction.GetProperty("metrics").GetProperty("total_time").GetDouble() / timeScale);
        var error = prediction.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
        return new(id, prediction.GetProperty("status").GetString()!, error, clientWall, serverWall, modelled);
    }

    private static async Task<JsonElement> SendAsync(HttpClient client, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using var response = await client.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return response.IsSuccessStatusCode
            ? JsonDocument.Parse(text).RootElement.Clone()
            : throw new InvalidOperationException($"{request.Method} {request.RequestUri} answered {(int)response.StatusCode}: {text}");
    }
}
