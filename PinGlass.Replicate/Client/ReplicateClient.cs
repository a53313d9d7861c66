using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using PinGlass.Replicate.Errors;

namespace PinGlass.Replicate.Client;

/// <summary>
/// The typed Replicate HTTP client (API v1). Every failure surfaces as a <see cref="ReplicateException"/> with its category.
/// A create is sent once per call: retrying it safely is <see cref="Resilience.SafeCreate"/>'s job, the HTTP pipeline never does.
/// </summary>
public sealed partial class ReplicateClient(HttpClient http, IOptions<ReplicateOptions> options)
{
    public const string HttpClientName = "replicate";

    /// <summary>Marks a create-prediction request: the resilience handler must not retry it (a retry can bill twice).</summary>
    internal static readonly HttpRequestOptionsKey<bool> IsCreate = new("PinGlass.Replicate.IsCreate");

    /// <summary>Extra attempt time for a request that Replicate holds open (<c>Prefer: wait</c>).</summary>
    internal static readonly HttpRequestOptionsKey<TimeSpan> HoldTime = new("PinGlass.Replicate.HoldTime");

    /// <summary>Creates a prediction, by the models path for an official model or by version.</summary>
    public Task<Prediction> CreatePredictionAsync(ModelRef model, JsonObject input, CreatePredictionOptions? create = null,
        CancellationToken cancellationToken = default)
    {
        create ??= new();
        var body = new JsonObject { ["input"] = input.DeepClone() };
        if (model.Version is { } version)
        {
            body["version"] = version;
        }

        if (create.Webhook is { } webhook)
        {
            body["webhook"] = webhook.AbsoluteUri;
        }

        if (create.WebhookEventsFilter is { } filter)
        {
            body["webhook_events_filter"] = new JsonArray([.. filter.Select(e => JsonValue.Create(e))]);
        }

        var path = model.Version is null ? $"v1/models/{model.Owner}/{model.Name}/predictions" : "v1/predictions";
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body, options: ReplicateJson.Options) };
        request.Options.Set(IsCreate, true);
        if (create.Wait is { } wait)
        {
            var seconds = Math.Clamp((int)Math.Ceiling(wait.TotalSeconds), 1, 60);
            request.Headers.Add("Prefer", $"wait={seconds}");
            request.Options.Set(HoldTime, TimeSpan.FromSeconds(seconds));
        }

        if (create.CancelAfter is { } cancelAfter)
        {
            request.Headers.Add("Cancel-After", FormatDuration(cancelAfter));
        }

        return SendAsync<Prediction>(request, $"Create prediction on {model.FullName}", cancellationToken);
    }

    public Task<Prediction> GetPredictionAsync(string id, CancellationToken cancellationToken = default) =>
        SendAsync<Prediction>(new(HttpMethod.Get, $"v1/predictions/{Uri.EscapeDataString(id)}"), "Get prediction", cancellationToken);

    /// <summary>Cancels a prediction; repeating it is harmless, so it may be retried.</summary>
    public Task<Prediction> CancelPredictionAsync(string id, CancellationToken cancellationToken = default) =>
        SendAsync<Prediction>(new(HttpMethod.Post, $"v1/predictions/{Uri.EscapeDataString(id)}/cancel"), "Cancel prediction", cancellationToken);

    /// <summary>
    /// Lists predictions newest first, 100 a page, created after <paramref name="createdAfter"/> and before
    /// <paramref name="createdBefore"/> when given; pass the previous page's <c>Next</c> URL as <paramref name="cursor"/> (it carries
    /// the window on).
    /// </summary>
    public Task<PredictionPage> ListPredictionsAsync(string? cursor = null, DateTimeOffset? createdAfter = null, DateTimeOffset? createdBefore = null,
        CancellationToken cancellationToken = default)
    {
        // Cursors are absolute URLs; only their path and query are followed, so the token never goes to another host, and
        // behind service discovery (where Replicate writes a host PinGlass does not address it by) the cursor still works.
        if (cursor is not null)
        {
            return Uri.TryCreate(cursor, UriKind.Absolute, out var next)
                ? SendAsync<PredictionPage>(new(HttpMethod.Get, next.PathAndQuery.TrimStart('/')), "List predictions", cancellationToken)
                : throw new ArgumentException("The cursor must be the absolute URL of a page.", nameof(cursor));
        }

        var window = new[] { ("created_after", createdAfter), ("created_before", createdBefore) }
            .Where(w => w.Item2 is not null)
            .Select(w => $"{w.Item1}={Uri.EscapeDataString(ReplicateTimestamp.Format(w.Item2!.Value))}")
            .ToList();
        var uri = window.Count == 0 ? "v1/predictions" : $"v1/predictions?{string.Join('&', window)}";
        return SendAsync<PredictionPage>(new(HttpMethod.Get, uri), "List predictions", cancellationToken);
    }

    /// <summary>A cheap GET on the model, used as the provider health probe.</summary>
    public Task<ReplicateModelInfo> GetModelAsync(ModelRef model, CancellationToken cancellationToken = default) =>
        SendAsync<ReplicateModelInfo>(new(HttpMethod.Get, $"v1/models/{model.Owner}/{model.Name}"), $"Get model {model.FullName}", cancellationToken);

    /// <summary>Uploads a file (multipart <c>content</c>); the bytes are buffered so a retry can send them again.</summary>
    public async Task<ReplicateFile> UploadFileAsync(Stream content, string fileName, string contentType, CancellationToken cancellationToken = default)
    {
        using var buffer = new MemoryStream();
        await content.CopyToAsync(buffer, cancellationToken);
        var file = new ByteArrayContent(buffer.ToArray());
        file.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        var form = new MultipartFormDataContent { { file, "content", fileName } };
        return await SendAsync<ReplicateFile>(new(HttpMethod.Post, "v1/files") { Content = form }, "Upload file", cancellationToken);
    }

    /// <summary>The secret (<c>whsec_…</c>) that signs this account's webhooks.</summary>
    public async Task<string> GetWebhookSecretAsync(CancellationToken cancellationToken = default) =>
        (await SendAsync<WebhookSecret>(new(HttpMethod.Get, "v1/webhooks/default/secret"), "Get webhook secret", cancellationToken)).Key;

    /// <summary>Replicate's <c>Cancel-After</c> form: <c>1h2m3s</c>, at least 5 s.</summary>
    internal static string FormatDuration(TimeSpan duration)
    {
        var seconds = Math.Max(5, (long)Math.Ceiling(duration.TotalSeconds));
        var (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
        return string.Concat(h > 0 ? $"{h}h" : "", m > 0 ? $"{m}m" : "", s > 0 ? $"{s}s" : "");
    }

    private async Task<T> SendAsync<T>(HttpRequestMessage request, string operation, CancellationToken cancellationToken)
    {
        using (request)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", options.Value.ApiToken);
            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, cancellationToken);
            }
            catch (Exception e) when (e is HttpRequestException or Polly.Timeout.TimeoutRejectedException
                                      || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
            {
                throw ReplicateException.FromTransport(e, operation);
            }

            using (response)
            {
                if (!response.IsSuccessStatusCode)
                {
                    throw await ErrorAsync(response, operation, cancellationToken);
                }

                return await response.Content.ReadFromJsonAsync<T>(ReplicateJson.Options, cancellationToken)
                       ?? throw new ReplicateException(ErrorCategory.ServerError, $"{operation}: the answer was empty.", (int)response.StatusCode);
            }
        }
    }

    private static async Task<ReplicateException> ErrorAsync(HttpResponseMessage response, string operation, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        ReplicateProblem? problem = null;
        try
        {
            problem = text.Length > 0 ? JsonSerializer.Deserialize<ReplicateProblem>(text, ReplicateJson.Options) : null;
        }
        catch (JsonException)
        {
            // A proxy or load balancer answered with HTML or plain text; the status still says enough.
        }

        var retryAfter = RetryAfter(response) ?? (problem?.RetryAfter is { } seconds ? (TimeSpan?)TimeSpan.FromSeconds(seconds) : null)
            ?? WaitInText(problem?.Detail);
        var detail = problem?.Detail ?? problem?.Title ?? response.ReasonPhrase ?? response.StatusCode.ToString();
        return new ReplicateException(ErrorPolicy.FromStatus(status), $"{operation} failed with {status}: {detail.TrimEnd()}", status, problem, retryAfter);
    }

    internal static TimeSpan? RetryAfter(HttpResponseMessage response) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - DateTimeOffset.UtcNow is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero,
        _ => null,
    };

    /// <summary>
    /// The wait a throttle's text states when neither the header nor <c>retry_after</c> does: Replicate's rate-limit docs show the
    /// body alone, "Request was throttled. Your rate limit resets in ~30s." (older: "Expected available in 1 second.").
    /// </summary>
    internal static TimeSpan? WaitInText(string? detail) =>
        detail is not null && ThrottleWait().Match(detail) is { Success: true } match
            && double.TryParse(match.Groups["seconds"].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
            ? TimeSpan.FromSeconds(Math.Min(seconds, 3600))
            : null;

    [GeneratedRegex(@"(?:resets in ~?|available in )(?<seconds>\d+(?:\.\d+)?)\s*s", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ThrottleWait();

    private sealed record WebhookSecret(string Key);
}
