using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using PinGlass.Replicate.Client;

namespace PinGlass.Replicate.Providers;

/// <summary>A model's input for one request, and what had to be changed to fit the model (empty when nothing was).</summary>
public sealed record ProviderInput(JsonObject Input, IReadOnlyList<string> Adaptations);

/// <summary>A Replicate model PinGlass can make portraits with; the model and price come from <c>Replicate:Models:{name}</c>.</summary>
public abstract class PortraitProvider(string name, IOptions<ReplicateOptions> options)
{
    public string Name => name;

    public ModelRef Model => ModelRef.Parse(Settings.Model);

    /// <summary>How many reference faces the model takes.</summary>
    public virtual int MaxFaces => 1;

    /// <summary>Whether the model has a <c>negative_prompt</c> input.</summary>
    protected virtual bool TakesNegativePrompt => true;

    /// <summary>
    /// The most one prediction can cost: the price of its image, or <paramref name="maxPredictTime"/> (Replicate time) of compute for a
    /// time-billed model.
    /// </summary>
    public decimal WorstCaseCost(TimeSpan maxPredictTime) => Settings switch
    {
        { UsdPerImage: { } perImage } => perImage,
        { UsdPerSecond: { } perSecond } => perSecond * (decimal)maxPredictTime.TotalSeconds,
        _ => 0,
    };

    /// <summary>The price of a second of compute for a time-billed model; null for one billed per image (its cost does not grow with time).</summary>
    public decimal? UsdPerSecond => Settings.UsdPerImage is null ? Settings.UsdPerSecond : null;

    /// <summary>What a prediction costs: per image, or per second of <c>predict_time</c>.</summary>
    public decimal CostOf(Prediction prediction) => Settings switch
    {
        { UsdPerImage: { } perImage } => prediction.Status == PredictionStatus.Succeeded ? perImage * ImagesOf(prediction) : 0,
        { UsdPerSecond: { } perSecond } => perSecond * (decimal)(prediction.Metrics?.PredictTime ?? 0),
        _ => 0,
    };

    /// <summary>
    /// The images a succeeded prediction made: its outputs, or, once Replicate removed its data (an hour after it ended; the output is
    /// then null), the one image a portrait prediction asks for.
    /// </summary>
    private static int ImagesOf(Prediction prediction) => prediction.OutputUrls.Count > 0 ? prediction.OutputUrls.Count : prediction.DataRemoved ? 1 : 0;

    /// <summary>Maps a valid request (see <see cref="PortraitRequest.Validate"/>) onto the model's input schema.</summary>
    public ProviderInput Map(PortraitRequest request)
    {
        var adaptations = new List<string>();
        if (request.FaceImages.Count > MaxFaces)
        {
            adaptations.Add($"{Name} takes {MaxFaces} face image(s); the first {MaxFaces} of {request.FaceImages.Count} were used.");
        }

        var input = new JsonObject { ["prompt"] = request.Prompt };
        if (request.NegativePrompt is { } negative && TakesNegativePrompt)
        {
            input["negative_prompt"] = negative;
        }
        else if (request.NegativePrompt is not null)
        {
            // Replicate drops an input the model does not have without a word: the portrait's notes say it instead.
            adaptations.Add($"The negative prompt was not applied: {Name} has no negative_prompt input.");
        }

        MapInto(input, request, adaptations);
        return new ProviderInput(input, adaptations);
    }

    protected abstract void MapInto(JsonObject input, PortraitRequest request, List<string> adaptations);

    protected static string FormatName(OutputFormat format) => format.ToString().ToLowerInvariant();

    private ProviderModelOptions Settings => options.Value.Models[name];
}
