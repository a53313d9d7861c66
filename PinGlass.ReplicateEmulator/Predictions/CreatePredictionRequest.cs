using System.Text.Json;
using PinGlass.ReplicateEmulator.Http;
using PinGlass.ReplicateEmulator.Models;
using PinGlass.ReplicateEmulator.Webhooks;

namespace PinGlass.ReplicateEmulator.Predictions;

/// <summary>A create-prediction body that passed validation.</summary>
public sealed record CreatePredictionRequest(
    ReplicateModel Model,
    string Version,
    JsonElement Input,
    string? Webhook,
    IReadOnlyList<string>? WebhookEventsFilter)
{
    private static readonly string[] ModelBodyKeys = ["input", "stream", "webhook", "webhook_events_filter"];
    private static readonly string[] VersionBodyKeys = [.. ModelBodyKeys, "version"];

    /// <summary>
    /// Validates a body as Replicate does: the request schema first (required keys, no unknown top-level keys, types),
    /// then the version, then the input against the version's schema.
    /// </summary>
    /// <param name="pathModel">The model of <c>/v1/models/{owner}/{name}/predictions</c>; null for <c>/v1/predictions</c>.</param>
    public static (CreatePredictionRequest? Request, ReplicateProblemResult? Error) Parse(JsonElement body, ReplicateModel? pathModel, ModelCatalog catalog)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return (null, ReplicateErrors.ValidationFailed([new("invalid_type", "(root)", $"Invalid type. Expected: object, given: {InputValidator.TypeName(body)}")]));
        }

        var allowed = pathModel is null ? VersionBodyKeys : ModelBodyKeys;
        var errors = new List<InvalidField>();
        foreach (var key in pathModel is null ? ["version", "input"] : new[] { "input" })
        {
            if (!body.TryGetProperty(key, out _))
            {
                errors.Add(new("required", "(root)", $"{key} is required"));
            }
        }

        foreach (var property in body.EnumerateObject().Where(p => !allowed.Contains(p.Name)))
        {
            errors.Add(new("additional_property_not_allowed", "(root)", $"Additional property {property.Name} is not allowed"));
        }

        var input = Expect(body, "input", JsonValueKind.Object, errors);
        var version = Expect(body, "version", JsonValueKind.String, errors);
        var webhook = Expect(body, "webhook", JsonValueKind.String, errors)?.GetString();
        if (webhook is not null && !(Uri.TryCreate(webhook, UriKind.Absolute, out var url) && url.Scheme is "http" or "https"))
        {
            errors.Add(new("format", "webhook", "Does not match format 'uri'"));
        }

        var filter = ParseFilter(Expect(body, "webhook_events_filter", JsonValueKind.Array, errors), errors);
        if (errors.Count > 0)
        {
            return (null, ReplicateErrors.ValidationFailed(errors));
        }

        var versionRequested = false;
        var model = pathModel ?? catalog.ResolveVersion(version!.Value.GetString()!, out versionRequested);
        if (model is null)
        {
            return (null, ReplicateErrors.InvalidVersion());
        }

        var inputErrors = InputValidator.Validate(model.InputSchema, input!.Value);
        return inputErrors.Count > 0
            ? (null, ReplicateErrors.ValidationFailed(inputErrors))
            : (new CreatePredictionRequest(model, model.ReportedVersion(versionRequested), input.Value.Clone(), webhook, filter), null);
    }

    private static JsonElement? Expect(JsonElement body, string key, JsonValueKind kind, List<InvalidField> errors)
    {
        if (!body.TryGetProperty(key, out var value))
        {
            return null;
        }

        if (value.ValueKind == kind)
        {
            return value;
        }

        errors.Add(new("invalid_type", key, $"Invalid type. Expected: {kind.ToString().ToLowerInvariant()}, given: {InputValidator.TypeName(value)}"));
        return null;
    }

    private static string[]? ParseFilter(JsonElement? filter, List<InvalidField> errors)
    {
        if (filter is not { } array)
        {
            return null;
        }

        var events = array.EnumerateArray().ToArray();
        for (var i = 0; i < events.Length; i++)
        {
            if (events[i].ValueKind != JsonValueKind.String || !WebhookEvents.All.Contains(events[i].GetString()))
            {
                errors.Add(new("enum", $"webhook_events_filter.{i}",
                    $"webhook_events_filter.{i} must be one of the following: {string.Join(", ", WebhookEvents.All.Select(e => $"\"{e}\""))}"));
            }
        }

        return [.. events.Select(e => e.ToString())];
    }
}
