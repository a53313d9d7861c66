using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace PinGlass.Cli.Api;

/// <summary>
/// PinGlass's public API as a client application calls it: its API key on every call, the end user it acts for. Passing trouble (a
/// throttle, a 502–504, a connection that broke) is waited out, as long as the Api's <c>Retry-After</c> asks, up to
/// <paramref name="patience"/>; anything else is an <see cref="ApiProblem"/>.
/// </summary>
public sealed class PinGlassApiClient(HttpClient http, TimeSpan patience) : IDisposable
{
    private static readonly TimeSpan FirstWait = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LongestWait = TimeSpan.FromSeconds(30);

    /// <summary>How long an event stream may say nothing before it is opened again (a reopened one answers at once with where it stands).</summary>
    private static readonly TimeSpan Silence = TimeSpan.FromSeconds(60);

    public Uri BaseAddress => http.BaseAddress!;

    public static PinGlassApiClient Create(Uri api, string key, string user, TimeSpan patience, HttpMessageHandler? handler = null)
    {
        var http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        http.BaseAddress = api;
        // The event stream stays open for as long as the generation runs: no overall timeout; each call has its own token.
        http.Timeout = Timeout.InfiniteTimeSpan;
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        http.DefaultRequestHeaders.Add("X-PinGlass-User", user);
        http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("pinglass-cli", typeof(PinGlassApiClient).Assembly.GetName().Version?.ToString(3)));
        return new PinGlassApiClient(http, patience);
    }

    /// <summary>Uploads the photos (read again for each try) and starts a generation.</summary>
    public Task<GenerationCreated> StartAsync(IReadOnlyList<FileInfo> photos, IReadOnlyList<string> styles, decimal? budget, CancellationToken cancellationToken) =>
        SendAsync<GenerationCreated>(() =>
        {
            var form = new MultipartFormDataContent();
            foreach (var photo in photos)
            {
                var content = new StreamContent(photo.OpenRead());
                content.Headers.ContentType = new MediaTypeHeaderValue(MediaTypeOf(photo.Extension));
                form.Add(content, "photos", photo.Name);
            }

            if (styles.Count > 0)
            {
                form.Add(new StringContent(string.Join(',', styles)), "styles");
            }

            if (budget is { } usd)
            {
                form.Add(new StringContent(usd.ToString(System.Globalization.CultureInfo.InvariantCulture)), "budget");
            }

            return new HttpRequestMessage(HttpMethod.Post, "v1/generations") { Content = form };
        }, cancellationToken);

    public Task<GenerationView> GetAsync(Guid id, CancellationToken cancellationToken) =>
        SendAsync<GenerationView>(() => new HttpRequestMessage(HttpMethod.Get, $"v1/generations/{id}"), cancellationToken);

    /// <summary>The generation as the Api returns it, untouched: what <c>status --json</c> prints.</summary>
    public Task<JsonElement> GetRawAsync(Guid id, CancellationToken cancellationToken) =>
        SendAsync<JsonElement>(() => new HttpRequestMessage(HttpMethod.Get, $"v1/generations/{id}"), cancellationToken);

    public Task CancelAsync(Guid id, CancellationToken cancellationToken) =>
        SendAsync<JsonElement?>(() => new HttpRequestMessage(HttpMethod.Post, $"v1/generations/{id}/cancel"), cancellationToken);

    public Task RetryAsync(Guid id, int index, CancellationToken cancellationToken) =>
        SendAsync<JsonElement?>(() => new HttpRequestMessage(HttpMethod.Post, $"v1/generations/{id}/portraits/{index}/retry"), cancellationToken);

    public Task<IReadOnlyList<StyleView>> StylesAsync(CancellationToken cancellationToken) =>
        SendAsync<IReadOnlyList<StyleView>>(() => new HttpRequestMessage(HttpMethod.Get, "v1/styles"), cancellationToken);

    public Task<CostReport> CostsAsync(string? from, string? to, CancellationToken cancellationToken) =>
        SendAsync<CostReport>(() => new HttpRequestMessage(HttpMethod.Get,
            $"v1/costs?from={Uri.EscapeDataString(from ?? "")}&to={Uri.EscapeDataString(to ?? "")}"), cancellationToken);

    public Task<IReadOnlyList<ApiKeyInfo>> KeysAsync(string? client, CancellationToken cancellationToken) =>
        SendAsync<IReadOnlyList<ApiKeyInfo>>(() => new HttpRequestMessage(HttpMethod.Get,
            string.IsNullOrEmpty(client) ? "v1/keys" : $"v1/keys?client={Uri.EscapeDataString(client)}"), cancellationToken);

    public Task<NewKey> CreateKeyAsync(string client, bool operatorClient, CancellationToken cancellationToken) =>
        SendAsync<NewKey>(() => new HttpRequestMessage(HttpMethod.Post, "v1/keys") { Content = JsonContent.Create(new { client, @operator = operatorClient }) },
            cancellationToken);

    public Task RevokeKeyAsync(Guid id, CancellationToken cancellationToken) =>
        SendAsync<JsonElement?>(() => new HttpRequestMessage(HttpMethod.Delete, $"v1/keys/{id}"), cancellationToken);

    public Task<ClientLimits> SetLimitsAsync(string client, ClientLimits limits, CancellationToken cancellationToken) =>
        SendAsync<ClientLimits>(() => new HttpRequestMessage(HttpMethod.Put, $"v1/clients/{Uri.EscapeDataString(client)}/limits")
        {
            Content = JsonContent.Create(limits, options: ApiJson.Options),
        }, cancellationToken);

    /// <summary>Saves a delivered portrait as <paramref name="stem"/> plus the extension of its type; returns the file written.</summary>
    public async Task<FileInfo> DownloadAsync(string imageUrl, string stem, CancellationToken cancellationToken)
    {
        using var response = await SendRawAsync(() => new HttpRequestMessage(HttpMethod.Get, imageUrl.TrimStart('/')), cancellationToken);
        var file = new FileInfo(stem + ExtensionOf(response.Content.Headers.ContentType?.MediaType));
        await using (var target = file.Create())
        {
            await response.Content.CopyToAsync(target, cancellationToken);
        }

        file.Refresh();
        return file;
    }

    /// <summary>
    /// Every progress change of the generation until it ends, in version order. A stream that breaks is opened again with
    /// <c>Last-Event-ID</c> (the Api sends what came after it); the Api's 204 says the end was already sent.
    /// </summary>
    public async IAsyncEnumerable<ProgressEvent> FollowAsync(Guid id, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long? seen = null;
        var wait = FirstWait;
        while (true)
        {
            using var response = await SendRawAsync(() =>
            {
                var request = new HttpRequestMessage(HttpMethod.Get, $"v1/generations/{id}/events");
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
                if (seen is { } version)
                {
                    request.Headers.Add("Last-Event-ID", version.ToString(System.Globalization.CultureInfo.InvariantCulture));
                }

                return request;
            }, cancellationToken, HttpCompletionOption.ResponseHeadersRead);
            if (response.StatusCode == HttpStatusCode.NoContent)
            {
                yield break;
            }

            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            var parser = SseParser.Create(stream, (_, data) => JsonSerializer.Deserialize<ProgressEvent>(data, ApiJson.Options));
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            await using var items = parser.EnumerateAsync(idle.Token).GetAsyncEnumerator(idle.Token);
            while (await NextAsync(items, idle, cancellationToken))
            {
                if (items.Current.Data is { } change && (seen is null || change.Version > seen))
                {
                    seen = change.Version;
                    wait = FirstWait;
                    yield return change;
                    if (change.IsTerminal)
                    {
                        yield break;
                    }
                }
            }

            // The stream ended or broke before the generation did: opened again after a short wait, from the last change seen.
            await Task.Delay(wait, cancellationToken);
            wait = Min(wait * 2, LongestWait);
        }
    }

    /// <summary>
    /// The next event, or false when the stream ended, broke or stayed silent for <see cref="Silence"/>: a connection whose other end
    /// vanished (a replica killed, a network cut) sends nothing and never closes, so it is opened again from the last change seen.
    /// </summary>
    private static async Task<bool> NextAsync(IAsyncEnumerator<SseItem<ProgressEvent?>> items, CancellationTokenSource idle, CancellationToken cancellationToken)
    {
        idle.CancelAfter(Silence);
        try
        {
            return await items.MoveNextAsync();
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private async Task<T> SendAsync<T>(Func<HttpRequestMessage> make, CancellationToken cancellationToken)
    {
        using var response = await SendRawAsync(make, cancellationToken);
        return response.StatusCode == HttpStatusCode.NoContent || response.Content.Headers.ContentLength == 0
            ? default!
            : (await response.Content.ReadFromJsonAsync<T>(ApiJson.Options, cancellationToken))!;
    }

    /// <summary>
    /// Sends until the Api answers with success or a refusal, waiting out passing trouble. A request that changes nothing twice (GET,
    /// PUT, DELETE) is sent again after a throttle, a 502–504 or a broken connection; a POST only after what says it was not carried
    /// out — a 429, a 503 (the Api stores nothing then) or a connection that was never made — since a 504 or a connection broken
    /// after sending may come from a POST that started a generation (or made a key) all the same.
    /// </summary>
    private async Task<HttpResponseMessage> SendRawAsync(Func<HttpRequestMessage> make, CancellationToken cancellationToken,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        var giveUpAt = DateTimeOffset.UtcNow + patience;
        var wait = FirstWait;
        while (true)
        {
            HttpResponseMessage response;
            bool idempotent;
            using (var request = make())
            {
                idempotent = request.Method != HttpMethod.Post;
                try
                {
                    response = await http.SendAsync(request, completion, cancellationToken);
                }
                catch (HttpRequestException e) when (!cancellationToken.IsCancellationRequested)
                {
                    var notSent = e.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError
                        && e.InnerException is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionRefused
                            or System.Net.Sockets.SocketError.HostNotFound or System.Net.Sockets.SocketError.NetworkUnreachable };
                    if ((!idempotent && !notSent) || DateTimeOffset.UtcNow + wait > giveUpAt)
                    {
                        throw ApiProblem.Unreachable(BaseAddress, e);
                    }

                    await Task.Delay(wait, cancellationToken);
                    wait = Min(wait * 2, LongestWait);
                    continue;
                }
            }

            if (response.IsSuccessStatusCode)
            {
                return response;
            }

            var transient = response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable
                || (idempotent && response.StatusCode is HttpStatusCode.BadGateway or HttpStatusCode.GatewayTimeout);
            var asked = response.Headers.RetryAfter?.Delta ?? (response.Headers.RetryAfter?.Date is { } date ? date - DateTimeOffset.UtcNow : null);
            var next = asked is { } a && a > TimeSpan.Zero ? Min(a, LongestWait * 4) : wait;
            if (!transient || DateTimeOffset.UtcNow + next > giveUpAt)
            {
                using (response)
                {
                    throw await ApiProblem.ReadAsync(response, cancellationToken);
                }
            }

            response.Dispose();
            await Task.Delay(next, cancellationToken);
            wait = Min(wait * 2, LongestWait);
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static string MediaTypeOf(string extension) => extension.ToLowerInvariant() switch
    {
        ".jpg" or ".jpeg" => "image/jpeg",
        ".png" => "image/png",
        ".webp" => "image/webp",
        ".heic" => "image/heic",
        _ => "application/octet-stream",
    };

    private static string ExtensionOf(string? mediaType) => mediaType switch
    {
        "image/jpeg" => ".jpg",
        "image/png" => ".png",
        "image/webp" => ".webp",
        _ => ".img",
    };

    public void Dispose() => http.Dispose();
}
