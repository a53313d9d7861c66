using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace PinGlass.ReplicateEmulator.Tests.Contract;

/// <summary>
/// Validates response bodies against the response schemas of Replicate's official OpenAPI document.
/// The document is OpenAPI 3.1 but still uses 3.0's <c>nullable</c>, which is translated to a JSON Schema type union;
/// its <c>version</c> is a <c>oneOf</c> of a string and the string "hidden", which overlap, so it is read as <c>anyOf</c>.
/// </summary>
public static class OpenApiContract
{
    private static readonly JsonObject Document = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Contract", "replicate-openapi.json")))!.AsObject();
    private static readonly ConcurrentDictionary<string, JsonSchema> Schemas = new();

    public static void AssertValid(JsonElement body, string path, string method, string status)
    {
        var schema = Schemas.GetOrAdd($"{method} {path} {status}", _ => Build(path, method, status));
        var result = schema.Evaluate(JsonNode.Parse(body.GetRawText()),
            new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true });
        var errors = result.Details.Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key}: {e.Value}"));
        Assert.True(result.IsValid, $"{method.ToUpperInvariant()} {path} {status} does not match the OpenAPI schema:\n{string.Join("\n", errors)}\n{body}");
    }

    private static JsonSchema Build(string path, string method, string status)
    {
        var content = Document["paths"]![path]![method]!["responses"]![status]!["content"]!.AsObject();
        var schema = content.First().Value!["schema"]!;
        var root = new JsonObject
        {
            ["$schema"] = "https://json-schema.org/draft/2020-12/schema",
            ["$defs"] = Translate(Document["components"]!["schemas"]!),
            ["allOf"] = new JsonArray(Translate(schema)),
        };
        return JsonSchema.FromText(root.ToJsonString());
    }

    private static JsonNode? Translate(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                var copy = new JsonObject();
                foreach (var (key, value) in obj)
                {
                    if (key is "nullable" or "example")
                    {
                        continue;
                    }

                    copy[key == "oneOf" ? "anyOf" : key] = key == "$ref"
                        ? value!.GetValue<string>().Replace("#/components/schemas/", "#/$defs/", StringComparison.Ordinal)
                        : Translate(value);
                }

                if (obj["nullable"]?.GetValue<bool>() == true && obj["type"] is JsonValue type)
                {
                    copy["type"] = new JsonArray(type.GetValue<string>(), "null");
                }

                return copy;
            case JsonArray array:
                return new JsonArray([.. array.Select(Translate)]);
            default:
                return node?.DeepClone();
        }
    }
}
