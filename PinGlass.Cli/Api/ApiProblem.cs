using System.Net;
using System.Text.Json;

namespace PinGlass.Cli.Api;

/// <summary>A call the Api refused or could not answer: its status and its problem details (title, detail, field errors).</summary>
public sealed class ApiProblem(HttpStatusCode? status, string title, string? detail, IReadOnlyDictionary<string, string[]> errors, JsonElement? body)
    : Exception(detail is null ? title : $"{title}: {detail}")
{
    public HttpStatusCode? Status => status;

    public string Title => title;

    public string? Detail => detail;

    public IReadOnlyDictionary<string, string[]> Errors => errors;

    /// <summary>The problem document as it came, for <c>--json</c> and for what it carries beyond the standard fields.</summary>
    public JsonElement? Body => body;

    /// <summary>A 4xx but a throttle: the request as sent cannot succeed; anything else may pass.</summary>
    public bool IsRefusal => status is { } code && (int)code is >= 400 and < 500 && code != HttpStatusCode.TooManyRequests;

    public static async Task<ApiProblem> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        JsonElement? body = null;
        try
        {
            body = JsonSerializer.Deserialize<JsonElement>(text);
        }
        catch (JsonException)
        {
            // Not a problem document (a proxy's page, Kestrel's bare 400): its status says enough.
        }

        var title = body is { ValueKind: JsonValueKind.Object } b && b.TryGetProperty("title", out var t) && t.ValueKind == JsonValueKind.String
            ? t.GetString()! : $"{(int)response.StatusCode} {response.ReasonPhrase}";
        var detail = body is { ValueKind: JsonValueKind.Object } d && d.TryGetProperty("detail", out var de) && de.ValueKind == JsonValueKind.String
            ? de.GetString() : null;
        var errors = body is { ValueKind: JsonValueKind.Object } e && e.TryGetProperty("errors", out var er) && er.ValueKind == JsonValueKind.Object
            ? er.Deserialize<Dictionary<string, string[]>>(ApiJson.Options) ?? [] : [];
        return new ApiProblem(response.StatusCode, title, detail, errors, body);
    }

    public static ApiProblem Unreachable(Uri api, Exception cause) =>
        new(null, $"The Api at {api} cannot be reached", cause.Message, new Dictionary<string, string[]>(), null);
}
