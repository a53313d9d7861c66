using System.Text.RegularExpressions;

namespace PinGlass.Replicate.Client;

/// <summary>
/// A model to run: <c>owner/name</c> runs an official model through its models path, <c>owner/name:version</c> runs that version
/// (community models can only be run by version).
/// </summary>
public sealed partial record ModelRef(string Owner, string Name, string? Version)
{
    public string FullName => $"{Owner}/{Name}";

    public static bool TryParse(string? text, out ModelRef model)
    {
        model = null!;
        if (text is null || Pattern().Match(text) is not { Success: true } match)
        {
            return false;
        }

        model = new(match.Groups["owner"].Value, match.Groups["name"].Value, match.Groups["version"] is { Success: true } v ? v.Value : null);
        return true;
    }

    public static ModelRef Parse(string text) =>
        TryParse(text, out var model) ? model : throw new FormatException($"'{text}' is not owner/name or owner/name:version.");

    public override string ToString() => Version is null ? FullName : $"{FullName}:{Version}";

    [GeneratedRegex("^(?<owner>[A-Za-z0-9][A-Za-z0-9_.-]*)/(?<name>[A-Za-z0-9][A-Za-z0-9_.-]*)(:(?<version>[A-Za-z0-9-]+))?$")]
    private static partial Regex Pattern();
}
