using System.Net;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Text.Json;
using PinGlass.Platform;
using PinGlass.Fixtures;
using PinGlass.Photos.Intake;

namespace PinGlass.AppHost.Tests;

/// <summary>Drives generations through the Api as a client app would, and reads the emulator's side of them.</summary>
public sealed class GenerationClient(HttpClient api, HttpClient emulator) : IDisposable
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public HttpClient Api { get; } = api;

    public HttpClient Emulator { get; } = emulator;

    /// <remarks>
    /// An upload waits for its photos' analysis, which queues behind every other upload's on the faces service: with ten at once on a
    /// loaded 2-core machine one has taken more than HttpClient's default 100 s. The tests bound their waits themselves.
    /// </remarks>
    public static GenerationClient For(DistributedApplication app, string key = ApiClients.DemoKey, string? user = ApiClients.User)
    {
        var api = app.CreateHttpClient(ResourceNames.Api).ActingFor(key, user);
        api.Timeout = TimeSpan.FromMinutes(10);
        return new(api, app.CreateHttpClient(ResourceNames.Replicate));
    }

    /// <summary>The fixture upload: twelve photos of one person, another person, a blank and a two-face collage.</summary>
    public static IReadOnlyList<UploadedPhoto> Photos { get; } = Samples.ReferenceUpload();

    /// <summary>
    /// One photo of the person: what a generation starts on in the tests (see <see cref="PinGlassApp.CreateBuilderAsync"/>) unless it
    /// is about the upload or its references. Each photo is analysed on the faces service, the tests' most loaded server.
    /// </summary>
    public static IReadOnlyList<UploadedPhoto> OnePhoto { get; } = [Photos[0]];

    public async Task<HttpResponseMessage> PostAsync(IEnumerable<UploadedPhoto> photos, params (string Name, string Value)[] fields)
    {
        using var form = GenerationForm.Create(photos, fields);
        return await Api.PostAsync("/v1/generations", form, TestContext.Current.CancellationToken);
    }

    /// <summary>Starts a generation of one photo; returns its id.</summary>
    public Task<Guid> StartAsync(params (string Name, string Value)[] fields) => StartAsync(OnePhoto, fields);

    /// <summary>
    /// Starts a generation; returns its id. An upload whose photos the Api could not analyse now (503: the faces service is down or has
    /// a backlog) is sent again after its Retry-After, as a client app would, a few times.
    /// </summary>
    public async Task<Guid> StartAsync(IEnumerable<UploadedPhoto> photos, params (string Name, string Value)[] fields)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var response = await PostAsync(photos, fields);
            var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable && attempt < 5 && response.Headers.RetryAfter?.Delta is { } wait)
            {
                await Task.Delay(wait, TestContext.Current.CancellationToken);
                continue;
            }

            Assert.True(response.StatusCode == HttpStatusCode.Accepted, body);
            return JsonDocument.Parse(body).RootElement.GetProperty("id").GetGuid();
        }
    }

    /// <summary>
    /// The generation as the Api shows it. A 503 (a store that did not answer in time on a loaded machine) is waited out as the Api asks,
    /// after its Retry-After, as any client would; one that lasts fails the caller's wait.
    /// </summary>
    public async Task<JsonElement> GetAsync(Guid id)
    {
        while (true)
        {
            using var response = await Api.GetAsync($"/v1/generations/{id}", TestContext.Current.CancellationToken);
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable && response.Headers.RetryAfter?.Delta is { } wait)
            {
                await Task.Delay(wait, TestContext.Current.CancellationToken);
                continue;
            }

            response.EnsureSuccessStatusCode();
            return await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
        }
    }

    /// <summary>Waits until the generation has ended (or the timeout passed) and returns it.</summary>
    public Task<JsonElement> WaitAsync(Guid id, TimeSpan? timeout = null) =>
        Poll.UntilAsync(() => GetAsync(id), g => g.GetProperty("status").GetString() is not ("queued" or "running"), timeout ?? TimeSpan.FromMinutes(3));

    /// <summary>Asserts the generation ended <paramref name="status"/>, naming each failed portrait's error when it did not.</summary>
    public static void AssertStatus(string status, JsonElement generation)
    {
        var failures = generation.GetProperty("portraits").EnumerateArray()
            .Where(p => p.GetProperty("status").GetString() is not "succeeded")
            .Select(p => $"{p.GetProperty("index")} {p.GetProperty("status")}: {p.GetProperty("error")} {p.GetProperty("attempts")}");
        Assert.True(generation.GetProperty("status").GetString() == status,
            $"{generation.GetProperty("status")} (expected {status}): {string.Join(Environment.NewLine, failures)}");
    }

    /// <summary>Every server-sent event of the generation until the stream ends.</summary>
    public async Task<List<(string? Id, JsonElement Progress)>> FollowAsync(Guid id, CancellationToken cancellationToken)
    {
        using var response = await Api.GetAsync($"/v1/generations/{id}/events", HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        response.EnsureSuccessStatusCode();
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var events = new List<(string?, JsonElement)>();
        await foreach (var item in SseParser.Create(stream).EnumerateAsync(cancellationToken))
        {
            Assert.Equal("progress", item.EventType);
            events.Add((item.EventId, JsonDocument.Parse(item.Data).RootElement.Clone()));
        }

        return events;
    }

    /// <summary>The account's webhook signing secret, as Replicate's API serves it (with the emulator's token).</summary>
    public async Task<string> WebhookSecretAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/webhooks/default/secret");
        request.Headers.Authorization = new("Bearer", ReplicateEndpoint.EmulatorToken);
        using var response = await Emulator.SendAsync(request, TestContext.Current.CancellationToken);
        return (await response.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken))
            .GetProperty("key").GetString()!;
    }

    /// <summary>The emulator's predictions, newest first, each as a GET reads it (with its webhook, which Replicate's list leaves out).</summary>
    public async Task<List<JsonElement>> EmulatorPredictionsAsync() =>
        await Emulator.GetFromJsonAsync<List<JsonElement>>("/_emulator/predictions", TestContext.Current.CancellationToken) ?? [];

    public async Task SetFaultsAsync(string rulesJson)
    {
        using var content = new StringContent(rulesJson, System.Text.Encoding.UTF8, "application/json");
        using var response = await Emulator.PutAsync("/_emulator/faults", content, TestContext.Current.CancellationToken);
        response.EnsureSuccessStatusCode();
    }

    public async Task<JsonElement> EmulatorPredictionAsync(string predictionId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/predictions/{predictionId}");
        request.Headers.Authorization = new("Bearer", ReplicateEndpoint.EmulatorToken);
        using var response = await Emulator.SendAsync(request, TestContext.Current.CancellationToken);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
    }

    /// <summary>What the emulator billed, prediction by prediction (its ledger, unrounded USD).</summary>
    public async Task<List<(string Id, decimal Cost)>> LedgerAsync()
    {
        var ledger = await Emulator.GetFromJsonAsync<JsonElement>("/_emulator/ledger", TestContext.Current.CancellationToken);
        return [.. ledger.GetProperty("entries").EnumerateArray().Select(e => (e.GetProperty("prediction_id").GetString()!, e.GetProperty("cost_usd").GetDecimal()))];
    }

    /// <summary>Has the emulator remove a prediction's output and input now, as Replicate does an hour after the prediction.</summary>
    public async Task ExpireAsync(string predictionId)
    {
        using var response = await Emulator.PostAsync($"/_emulator/predictions/{predictionId}/expire", null, TestContext.Current.CancellationToken);
        response.EnsureSuccessStatusCode();
    }

    public async Task<JsonElement> FaultsAsync() =>
        await Emulator.GetFromJsonAsync<JsonElement>("/_emulator/faults", TestContext.Current.CancellationToken);

    public void Dispose()
    {
        Api.Dispose();
        Emulator.Dispose();
    }
}
