using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace PinGlass.Replicate.Client;

/// <summary>
/// Parses Replicate's RFC 3339 timestamps. Replicate writes from 0 up to 9 fractional digits (<c>…08.36078514Z</c>);
/// .NET keeps at most 7 (100 ns ticks), so the digits past the seventh are dropped, never rounded into the next second.
/// </summary>
public static class ReplicateTimestamp
{
    private const int MaxFractionDigits = 7;

    public static DateTimeOffset Parse(string text) =>
        TryParse(text, out var value) ? value : throw new FormatException($"'{text}' is not an RFC 3339 timestamp.");

    public static bool TryParse(string? text, out DateTimeOffset value)
    {
        value = default;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot >= 0)
        {
            var end = dot + 1;
            while (end < text.Length && char.IsAsciiDigit(text[end]))
            {
                end++;
            }

            if (end - dot - 1 > MaxFractionDigits)
            {
                text = string.Concat(text.AsSpan(0, dot + 1 + MaxFractionDigits), text.AsSpan(end));
            }
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal,
                   out value)
               && text.Contains('T', StringComparison.Ordinal);
    }

    public static string Format(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    internal sealed class Converter : JsonConverter<DateTimeOffset>
    {
        public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            TryParse(reader.GetString(), out var value) ? value : throw new JsonException($"'{reader.GetString()}' is not an RFC 3339 timestamp.");

        public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
            writer.WriteStringValue(Format(value));
    }
}
