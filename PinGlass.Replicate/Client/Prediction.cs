using System.Text.Json;
using System.Text.Json.Nodes;

namespace PinGlass.Replicate.Client;

/// <summary>Prediction statuses; <c>aborted</c> means the <c>Cancel-After</c> deadline passed before it started.</summary>
public static class PredictionStatus
{
    public const string Starting = "starting";
    public const string Processing = "processing";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Canceled = "canceled";
    public const string Aborted = "aborted";

    public static bool IsTerminal(string status) => status is Succeeded or Failed or Canceled or Aborted;
}

public sealed record PredictionUrls(string? Get, string? Cancel, string? Web, string? Stream);

public sealed record PredictionMetrics(double? PredictTime, double? TotalTime);

/// <summary>The prediction object (OpenAPI <c>schemas_prediction_response</c>).</summary>
public sealed record Prediction(
    string Id,
    string Model,
    string Version,
    string Status,
    JsonElement? Input = null,
    JsonElement? Output = null,
    string? Error = null,
    string? Logs = null,
    DateTimeOffset CreatedAt = default,
    DateTimeOffset? StartedAt = null,
    DateTimeOffset? CompletedAt = null,
    DateTimeOffset? Deadline = null,
    PredictionUrls? Urls = null,
    PredictionMetrics? Metrics = null,
    bool DataRemoved = false)
{
    public bool IsTerminal => PredictionStatus.IsTerminal(Status);

    /// <summary>Output file URLs: image models return one URI or an array of them.</summary>
    public IReadOnlyList<string> OutputUrls => Output switch
    {
        { ValueKind: JsonValueKind.String } one => [one.GetString()!],
        { ValueKind: JsonValueKind.Array } many => [.. many.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!)],
        _ => [],
    };
}

/// <summary>One page of <c>GET /v1/predictions</c>; <see cref="Next"/> is an absolute URL or null.</summary>
public sealed record PredictionPage(string? Next, string? Previous, IReadOnlyList<Prediction> Results);

/// <summary>A file of the files API; pass <c>Urls.Get</c> as a model input.</summary>
public sealed record ReplicateFile(string Id, string? Name, string? ContentType, long Size, string? Etag, DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt, FileUrls Urls);

public sealed record FileUrls(string Get);

/// <summary>The model object of <c>GET /v1/models/{owner}/{name}</c>, reduced to what PinGlass reads.</summary>
public sealed record ReplicateModelInfo(string Owner, string Name, bool IsOfficial, JsonObject? LatestVersion);

/// <summary>What a create-prediction call sends besides the input.</summary>
/// <param name="Wait"><c>Prefer: wait=n</c>: how long Replicate holds the request open (1–60 s); null for asynchronous.</param>
/// <param name="CancelAfter"><c>Cancel-After</c>: Replicate cancels the prediction after this long (at least 5 s).</param>
public sealed record CreatePredictionOptions(
    TimeSpan? Wait = null,
    TimeSpan? CancelAfter = null,
    Uri? Webhook = null,
    IReadOnlyList<string>? WebhookEventsFilter = null);
