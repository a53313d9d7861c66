using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PinGlass.Replicate.Resilience;

/// <summary>
/// What identifies a create among the account's predictions: the SHA-256 of its input in one canonical form (keys sorted, numbers in
/// their shortest round-trip form), so the input Replicate echoes in a listed prediction matches the one sent whatever its key order or
/// number spelling. <c>input</c> is a field the published prediction schema requires in list results; the webhook URL is not in it.
/// A fingerprint is small enough to keep in the ledger, so a create can be searched for after its reference photos are gone.
/// </summary>
public static class InputFingerprint
{
    public static string Of(JsonNode input) => Of(JsonSerializer.SerializeToElement(input));

    /// <summary>
    /// Whether an echoed input has <paramref name="fingerprint"/>. Fail-safe: an input this cannot read (a number out of range, a
    /// broken escape) is simply not a match, so one odd prediction in the account never stops a search.
    /// </summary>
    public static bool Matches(JsonElement? echoed, string fingerprint)
    {
        if (echoed is not { ValueKind: JsonValueKind.Object } input)
        {
            return false;
        }

        try
        {
            return Of(input) == fingerprint;
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or OverflowException or ArgumentException)
        {
            return false;
        }
    }

    public static string Of(JsonElement input)
    {
        var canonical = new StringBuilder();
        Write(input, canonical);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical.ToString())));
    }

    /// <summary>
    /// A seed for the create under <paramref name="marker"/>, 0 to 2^31 − 1: random across creates (the marker is), the same for a create
    /// resumed after a crash, and it makes the create's input its own.
    /// </summary>
    public static long SeedFor(string marker) =>
        BitConverter.ToUInt32(SHA256.HashData(Encoding.UTF8.GetBytes(marker)), 0) & int.MaxValue;

    /// <summary>
    /// A number in one form: 1, 1.0 and 1e0 alike, exact for integers up to 28 digits (a seed, a size), so two different large
    /// integers never look the same as they would as doubles.
    /// </summary>
    private static string Number(string raw) =>
        decimal.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var exact)
            ? (exact / 1.0000000000000000000000000000m).ToString(CultureInfo.InvariantCulture)
            : double.Parse(raw, NumberStyles.Float, CultureInfo.InvariantCulture).ToString("R", CultureInfo.InvariantCulture);

    private static void Write(JsonElement value, StringBuilder to)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                to.Append('{');
                var first = true;
                foreach (var property in value.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    to.Append(first ? "" : ",").Append(JsonSerializer.Serialize(property.Name)).Append(':');
                    Write(property.Value, to);
                    first = false;
                }

                to.Append('}');
                break;
            case JsonValueKind.Array:
                to.Append('[');
                var index = 0;
                foreach (var item in value.EnumerateArray())
                {
                    to.Append(index++ == 0 ? "" : ",");
                    Write(item, to);
                }

                to.Append(']');
                break;
            case JsonValueKind.String:
                to.Append(JsonSerializer.Serialize(value.GetString()));
                break;
            case JsonValueKind.Number:
                to.Append(Number(value.GetRawText()));
                break;
            default:
                to.Append(value.GetRawText());
                break;
        }
    }
}
