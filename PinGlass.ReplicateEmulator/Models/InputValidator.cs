using System.Globalization;
using System.Text.Json;
using PinGlass.ReplicateEmulator.Http;

namespace PinGlass.ReplicateEmulator.Models;

/// <summary>
/// Validates a prediction input against the version's <c>openapi_schema.components.schemas.Input</c> with the error
/// types and wording of Replicate's validator (<c>required</c>, <c>invalid_type</c>, <c>enum</c>, <c>number_gte</c>,
/// <c>number_lte</c>, <c>format</c>), and a data URL over the documented size (<c>data_url_too_large</c>, the emulator's own wording).
/// Keys the schema does not know are ignored, as Replicate ignores them.
/// </summary>
public static class InputValidator
{
    /// <summary>
    /// Replicate's OpenAPI document has data URLs for files of 256 kB or less and HTTP URLs for larger ones, without saying what a
    /// larger data URL meets: the emulator refuses one, holding the URL itself (a third larger than its file) to the figure.
    /// </summary>
    public const int MaxDataUrlLength = 256_000;

    public static List<InvalidField> Validate(JsonElement schema, JsonElement input)
    {
        var errors = new List<InvalidField>();
        var properties = schema.GetProperty("properties");
        if (schema.TryGetProperty("required", out var required))
        {
            foreach (var name in required.EnumerateArray().Select(r => r.GetString()!))
            {
                if (!input.TryGetProperty(name, out _))
                {
                    errors.Add(new("required", "input", $"{name} is required"));
                }
            }
        }

        foreach (var property in input.EnumerateObject())
        {
            if (properties.TryGetProperty(property.Name, out var definition))
            {
                ValidateValue($"input.{property.Name}", property.Name, definition, property.Value, errors);
            }
        }

        return errors;
    }

    private static void ValidateValue(string field, string name, JsonElement definition, JsonElement value, List<InvalidField> errors)
    {
        var type = definition.GetProperty("type").GetString()!;
        if (!HasType(value, type))
        {
            errors.Add(new("invalid_type", field, $"Invalid type. Expected: {type}, given: {TypeName(value)}"));
            return;
        }

        if (definition.TryGetProperty("enum", out var allowed) && !allowed.EnumerateArray().Any(a => JsonElement.DeepEquals(a, value)))
        {
            var list = string.Join(", ", allowed.EnumerateArray().Select(a => a.GetRawText()));
            errors.Add(new("enum", field, $"{name} must be one of the following: {list}"));
        }

        if (value.ValueKind == JsonValueKind.Number)
        {
            var number = value.GetDouble();
            if (definition.TryGetProperty("minimum", out var minimum) && number < minimum.GetDouble())
            {
                errors.Add(new("number_gte", field, $"Must be greater than or equal to {Format(minimum)}"));
            }

            if (definition.TryGetProperty("maximum", out var maximum) && number > maximum.GetDouble())
            {
                errors.Add(new("number_lte", field, $"Must be less than or equal to {Format(maximum)}"));
            }
        }

        if (definition.TryGetProperty("format", out var format) && format.GetString() == "uri" && !IsUri(value.GetString()!))
        {
            errors.Add(new("format", field, "Does not match format 'uri'"));
        }
        else if (value.ValueKind == JsonValueKind.String && value.GetString()!.StartsWith("data:", StringComparison.OrdinalIgnoreCase)
                 && value.GetString()!.Length > MaxDataUrlLength)
        {
            errors.Add(new("data_url_too_large", field,
                $"A data URL may be at most {MaxDataUrlLength / 1000} kB; pass a larger file as an HTTP URL (for example one from the files API)"));
        }
    }

    private static bool HasType(JsonElement value, string type) => type switch
    {
        "string" => value.ValueKind == JsonValueKind.String,
        "number" => value.ValueKind == JsonValueKind.Number,
        "integer" => value.ValueKind == JsonValueKind.Number && Math.Abs(value.GetDouble() % 1) == 0,
        "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "array" => value.ValueKind == JsonValueKind.Array,
        "object" => value.ValueKind == JsonValueKind.Object,
        _ => true,
    };

    public static string TypeName(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => "string",
        JsonValueKind.Number => Math.Abs(value.GetDouble() % 1) == 0 ? "integer" : "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Array => "array",
        JsonValueKind.Object => "object",
        _ => "null",
    };

    private static string Format(JsonElement number) => number.GetDouble().ToString(CultureInfo.InvariantCulture);

    private static bool IsUri(string value) => Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" or "data";
}
