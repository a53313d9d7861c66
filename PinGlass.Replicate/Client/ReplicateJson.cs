using System.Text.Json;
using System.Text.Json.Serialization;

namespace PinGlass.Replicate.Client;

/// <summary>Replicate's JSON conventions: snake_case names, absent optional fields, flexible timestamps.</summary>
public static class ReplicateJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new ReplicateTimestamp.Converter() },
    };
}
