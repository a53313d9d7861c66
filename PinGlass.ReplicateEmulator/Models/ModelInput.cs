using System.Text.Json;

namespace PinGlass.ReplicateEmulator.Models;

/// <summary>Reads a validated input, falling back to the schema's defaults as cog does.</summary>
public sealed class ModelInput(ReplicateModel model, JsonElement input)
{
    private readonly JsonElement properties = model.InputSchema.GetProperty("properties");

    public JsonElement? Value(string name) =>
        input.TryGetProperty(name, out var given) ? given
        : properties.TryGetProperty(name, out var definition) && definition.TryGetProperty("default", out var fallback) ? fallback
        : null;

    public string? String(string name) => Value(name) is { ValueKind: JsonValueKind.String } value ? value.GetString() : null;

    public long? Integer(string name) => Value(name) is { ValueKind: JsonValueKind.Number } value ? (long)value.GetDouble() : null;

    /// <summary>How many images the prediction makes.</summary>
    public int Outputs => (int)(Integer("num_outputs") ?? 1);

    /// <summary>The first face image given, in the model's order of face inputs.</summary>
    public string? FaceImage => model.Output.FaceInputs.Select(String).FirstOrDefault(v => !string.IsNullOrEmpty(v));

    public string Format => String("output_format") ?? model.Output.DefaultFormat;

    /// <summary>
    /// Why the model's own code refuses this input once it runs, where its schema's ranges allow it: flux-kontext-pro takes a
    /// <c>safety_tolerance</c> of 0–6, but "2 is currently the maximum allowed when input images are used" (its schema's description).
    /// </summary>
    public string? Refusal =>
        model.FullName == "black-forest-labs/flux-kontext-pro" && !string.IsNullOrEmpty(String("input_image")) && Integer("safety_tolerance") is > 2 and var tolerance
            ? $"safety_tolerance {tolerance} is not allowed with an input image: 2 is the maximum when input images are used"
            : null;
}
