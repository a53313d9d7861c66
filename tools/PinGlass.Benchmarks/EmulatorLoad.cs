using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace PinGlass.Benchmarks;

/// <summary>One prediction as the load saw it. Times are wall-clock.</summary>
/// <param name="ClientWall">From sending the create to receiving the <c>completed</c> webhook.</param>
/// <param name="ServerWall">completed_at − created_at, as the emulator stamped them.</param>
/// <param name="Modelled">The prediction's modelled <c>total_time</c> divided by the time scale: what it should take.</param>
public sealed record PredictionTiming(string Id, string Status, string? Error, TimeSpan ClientWall, TimeSpan ServerWall, TimeSpan Modelled)
{
    /// <summary>What the emulator adds beyond the modelled latency.</summary>
    public TimeSpan ServerOverhead => ServerWall - Modelled;

    /// <summary>What a client sees beyond the modelled latency (includes HTTP, JSON and the webhook delivery).</summary>
    public TimeSpan ClientOverhead => ClientWall - Modelled;
}

public sealed record LoadResult(IReadOnlyList<PredictionTiming> Predictions, IReadOnlyList<string> Errors, TimeSpan Elapsed);

/// <summary>
/// Runs N concurrent flux-pulid predictions against an emulator the way PinGlass does: create with a <c>completed</c>
/// webhook, then wait for the webhook (no polling, so the polling rate limit plays no part). The webhook endpoint listens
/// on 127.0.0.1, so the emulator must run on the same machine. Shared by the benchmark command and the load tests.
/// </summary>
public sealed class EmulatorLoad : IAsyncDisposable
{
    public const string FluxPulid = "bytedance/flux-pulid:8baa7ef2255075b46f4d91cd238c21d31181b3e6a864463f967960bb0112525b";

    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);

    private readonly WebApplication sink;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<(JsonElement Body, TimeSpan At)>> waiting = new();
    private readonly Stopwatch clock = Stopwatch.StartNew();

    private EmulatorLoad(WebApplication sink) => this.sink = sink;

    public static async Task<EmulatorLoad> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var load = new EmulatorLoad(builder.Build());
        load.sink.MapPost("/completed", async (HttpRequest request) =>
        {
            var body = (await JsonDocument.ParseAsync(request.Body)).RootElement;
            load.Waiter(body.GetProperty("id").GetString()!).TrySetResult((body, load.clock.Elapsed));
            return Results.Ok();
        });
        await load.sink.StartAsync();
        return load;
    }

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
    public async Task<LoadResult> RunAsync(HttpClient client, int count, object input, double timeScale, CancellationToken cancellationToken)
    {
        var errors = new ConcurrentQueue<string>();
        var started = clock.Elapsed;
        var webhook = sink.Urls.First() + "/completed";
        var body = JsonSerializer.Serialize(new { version = FluxPulid, input, webhook, webhook_events_filter = new[] { "completed" } });
        var runs = Enumerable.Range(0, count).Select(async _ =>
        {
            try
            {
                return await RunOneAsync(client, body, timeScale, cancellationToken);
            }
            catch (Exception e) when (e is HttpRequestException or InvalidOperationException or TimeoutException)
            {
                errors.Enqueue(e.Message);
                return null;
            }
        });
        var timings = await Task.WhenAll(runs);
        return new([.. timings.OfType<PredictionTiming>()], [.. errors], clock.Elapsed - started);
    }

    private async Task<PredictionTiming> RunOneAsync(HttpClient client, string body, double timeScale, CancellationToken cancellationToken)
    {
        var sent = clock.Elapsed;
        using var response = await client.PostAsync("v1/predictions", new StringContent(body, Encoding.UTF8, "application/json"), cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"POST /v1/predictions answered {(int)response.StatusCode}: {text}");
        }

        var id = JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
        var (prediction, at) = await Waiter(id).Task.WaitAsync(Timeout, cancellationToken);
        waiting.TryRemove(id, out _);
        var serverWall = prediction.GetProperty("completed_at").GetDateTimeOffset() - prediction.GetProperty("created_at").GetDateTimeOffset();
        var modelled = TimeSpan.FromSeconds(prediction.GetProperty("metrics").GetProperty("total_time").GetDouble() / timeScale);
        var error = prediction.GetProperty("error") is { ValueKind: JsonValueKind.String } e ? e.GetString() : null;
        return new(id, prediction.GetProperty("status").GetString()!, error, at - sent, serverWall, modelled);
    }

    /// <summary>The webhook may arrive before the create's response has been read, so either side may create the waiter.</summary>
    private TaskCompletionSource<(JsonElement, TimeSpan)> Waiter(string id) =>
        waiting.GetOrAdd(id, _ => new TaskCompletionSource<(JsonElement, TimeSpan)>(TaskCreationOptions.RunContinuationsAsynchronously));

    public async ValueTask DisposeAsync()
    {
        await sink.StopAsync();
        await sink.DisposeAsync();
    }
}
