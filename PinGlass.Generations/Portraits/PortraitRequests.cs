using System.Text.Json;
using PinGlass.Generations.Styles;
using PinGlass.Generations.Persistence;
using PinGlass.Generations.Planning;
using PinGlass.Generations.Storage;
using PinGlass.Replicate.Providers;

namespace PinGlass.Generations.Portraits;

/// <summary>What a portrait asks a provider for: its style's prompt, its references as faces, and its options.</summary>
public sealed class PortraitRequests(StyleCatalog styles, GenerationBlobs blobs)
{
    public static int ReferenceCount(GenerationRow generation) => JsonSerializer.Deserialize<JsonElement>(generation.ReferencesJson).GetArrayLength();

    /// <summary>The style's options with the request's overrides on top, and a regeneration's raised id weight.</summary>
    public PortraitOptions OptionsFor(GenerationRow generation, PortraitRow portrait)
    {
        var overrides = JsonSerializer.Deserialize<PortraitOverrides>(generation.OptionsJson, PortraitOverrides.Json) ?? new();
        var options = overrides.For(StyleOf(portrait));
        return portrait.IdWeight is { } idWeight ? options with { IdWeight = idWeight } : options;
    }

    /// <summary>
    /// The request for one attempt: the attempt's reference as the face, and for a provider that takes several faces the next references
    /// after it, as many as it takes.
    /// </summary>
    public async Task<PortraitRequest> RequestAsync(GenerationRow generation, PortraitRow portrait, PortraitProvider provider, int reference,
        CancellationToken cancellationToken)
    {
        var count = Math.Max(1, ReferenceCount(generation));
        var references = Enumerable.Range(0, Math.Min(provider.MaxFaces, count)).Select(i => (reference + i) % count);
        var faces = await Task.WhenAll(references.Select(r => blobs.ReferenceDataUrlAsync(generation.Id, r, cancellationToken)));
        var style = StyleOf(portrait);
        return new PortraitRequest(style.Prompt, faces, OptionsFor(generation, portrait), portrait.Index, style.NegativePrompt);
    }

    private Style StyleOf(PortraitRow portrait) =>
        styles.Find(portrait.StyleId) ?? throw new InvalidOperationException($"Style {portrait.StyleId} is not in the catalog.");
}
