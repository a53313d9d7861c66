using System.Text.Json;
using System.Text.Json.Serialization;

namespace PinGlass.ReplicateEmulator.Predictions;

public sealed record PredictionUrls(string Get, string Cancel, string Web);

public sealed record PredictionMetrics(double? PredictTime, double TotalTime);

/// <summary>The prediction object of <c>GET /v1/predictions/{id}</c>, webhooks and lists (OpenAPI <c>schemas_prediction_response</c>).</summary>
public sealed record PredictionResponse(
    string Id,
    string Model,
    string Version,
    JsonElement Input,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] JsonElement? Output,
    bool DataRemoved,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Error,
    string Status,
    string Logs,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? CompletedAt,
    DateTimeOffset? Deadline,
    PredictionUrls Urls,
    PredictionMetrics? Metrics,
    string Source,
    string? Webhook,
    IReadOnlyList<string>? WebhookEventsFilter);

public sealed record PredictionPage(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Next,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Previous,
    IReadOnlyList<PredictionResponse> Results);
