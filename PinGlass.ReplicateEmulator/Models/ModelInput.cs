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
}
