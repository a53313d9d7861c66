using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Serialization;
using PinGlass.Generations.Styles;
using PinGlass.Replicate.Providers;

namespace PinGlass.Generations.Planning;

/// <summary>
/// What a request may set for all its portraits (the <c>options</c> form field, JSON). Size, identity weight and guidance are each
/// style's own; these apply on top.
/// </summary>
public sealed record PortraitOverrides
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>Denoising steps (1–20); fewer is faster and rougher.</summary>
    [Range(1, PortraitOptions.MaxSteps)]
    public int? Steps { get; init; }

    /// <summary>Fixes the results; null for random ones.</summary>
    [Range(0, long.MaxValue)]
    public long? Seed { get; init; }

    /// <summary>png, jpg or webp.</summary>
    public OutputFormat? OutputFormat { get; init; }

    /// <summary>Scales each style's identity weight (0.5–2), within the models' range.</summary>
    [Range(0.5, 2.0)]
    public double? IdWeightScale { get; init; }

    public PortraitOptions For(Style style)
    {
        var defaults = new PortraitOptions();
        return new PortraitOptions
        {
            Width = style.Options.Width,
            Height = style.Options.Height,
            IdWeight = Math.Min(PortraitOptions.MaxIdWeight, style.Options.IdWeight * (IdWeightScale ?? 1)),
            GuidanceScale = style.Options.GuidanceScale,
            Steps = Steps ?? defaults.Steps,
            Seed = Seed,
            OutputFormat = OutputFormat ?? defaults.OutputFormat,
        };
    }
}
