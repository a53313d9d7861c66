using System.Text.Json;
using System.Text.RegularExpressions;

namespace PinGlass.Generations.Styles;

/// <summary>
/// The 23 portrait styles, kept as data in <c>styles.json</c> (the prompts are the product: they are edited there, not in code) and
/// checked when loaded, so a bad edit stops start-up with every problem named instead of failing predictions later.
/// </summary>
public sealed partial class StyleCatalog
{
    /// <summary>Every generation delivers one portrait per style.</summary>
    public const int StyleCount = 23;

    // flux-pulid reads 128 prompt tokens by default; past ~500 characters the end of a prompt would be cut off.
    private const int MaxPromptLength = 500;

    private readonly Dictionary<string, Style> byId;

    private StyleCatalog(IReadOnlyList<Style> styles)
    {
        All = styles;
        byId = styles.ToDictionary(s => s.Id, StringComparer.Ordinal);
    }

    public IReadOnlyList<Style> All { get; }

    public Style? Find(string id) => byId.GetValueOrDefault(id);

    /// <summary>The catalog shipped with PinGlass.</summary>
    public static StyleCatalog Load()
    {
        using var stream = typeof(StyleCatalog).Assembly.GetManifestResourceStream("PinGlass.Generations.Styles.styles.json")
            ?? throw new InvalidOperationException("The style catalog is not embedded in PinGlass.Platform.");
        return Parse(stream);
    }

    /// <exception cref="InvalidDataException">The catalog breaks a rule; the message lists every problem.</exception>
    public static StyleCatalog Parse(Stream json)
    {
        CatalogFile file;
        try
        {
            file = JsonSerializer.Deserialize<CatalogFile>(json, JsonSerializerOptions.Web)
                ?? throw new InvalidDataException("The style catalog is empty.");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"The style catalog is not valid JSON: {ex.Message}", ex);
        }

        var problems = Problems(file).ToList();
        if (problems.Count > 0)
        {
            throw new InvalidDataException($"The style catalog is invalid:{Environment.NewLine}- {string.Join($"{Environment.NewLine}- ", problems)}");
        }

        return new StyleCatalog(file.Styles!.Select(s => new Style(
            s.Id!, s.Name!, s.Description!, s.Prompt!, $"{file.CommonNegativePrompt}, {s.NegativePrompt}", s.Options!)).ToList());
    }

    private static IEnumerable<string> Problems(CatalogFile file)
    {
        if (string.IsNullOrWhiteSpace(file.CommonNegativePrompt))
        {
            yield return "commonNegativePrompt is missing.";
        }

        var styles = file.Styles ?? [];
        if (styles.Count != StyleCount)
        {
            yield return $"{styles.Count} styles; a generation delivers exactly {StyleCount}.";
        }

        foreach (var id in styles.GroupBy(s => s.Id).Where(g => g.Count() > 1).Select(g => g.Key))
        {
            yield return $"id '{id}' is used more than once.";
        }

        foreach (var name in styles.GroupBy(s => s.Name).Where(g => g.Count() > 1).Select(g => g.Key))
        {
            yield return $"name '{name}' is used more than once.";
        }

        foreach (var (style, index) in styles.Select((s, i) => (s, i)))
        {
            var at = $"styles[{index}] ({style.Id ?? "no id"})";
            if (style.Id is null || !KebabCase().IsMatch(style.Id))
            {
                yield return $"{at}: id must be kebab-case (a-z, 0-9, single hyphens).";
            }

            foreach (var (field, value) in new[] { ("name", style.Name), ("description", style.Description), ("negativePrompt", style.NegativePrompt) })
            {
                if (string.IsNullOrWhiteSpace(value))
                {
                    yield return $"{at}: {field} is missing.";
                }
            }

            if (string.IsNullOrWhiteSpace(style.Prompt) || style.Prompt.Length > MaxPromptLength)
            {
                yield return $"{at}: prompt must be 1–{MaxPromptLength} characters.";
            }

            if (style.Options is not { } options)
            {
                yield return $"{at}: options are missing.";
                continue;
            }

            if (!IsSize(options.Width) || !IsSize(options.Height))
            {
                yield return $"{at}: width and height must be multiples of 16 from 256 to 1536 (got {options.Width}×{options.Height}).";
            }

            if (options.IdWeight is < 0 or > 3)
            {
                yield return $"{at}: idWeight must be 0–3 (got {options.IdWeight}).";
            }

            if (options.GuidanceScale is < 1 or > 10)
            {
                yield return $"{at}: guidanceScale must be 1–10 (got {options.GuidanceScale}).";
            }
        }
    }

    // The sizes flux-pulid accepts; multiples of 16 keep the latent grid whole.
    private static bool IsSize(int pixels) => pixels is >= 256 and <= 1536 && pixels % 16 == 0;

    [GeneratedRegex("^[a-z0-9]+(-[a-z0-9]+)*$")]
    private static partial Regex KebabCase();

    private sealed record CatalogFile(string? CommonNegativePrompt, List<StyleEntry>? Styles);

    private sealed record StyleEntry(string? Id, string? Name, string? Description, string? Prompt, string? NegativePrompt, StyleOptions? Options);
}
