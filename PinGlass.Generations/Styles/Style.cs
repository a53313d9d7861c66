namespace PinGlass.Generations.Styles;

/// <summary>One of the portrait styles a generation produces: what the user sees, and what the model is asked for.</summary>
/// <param name="Id">Stable kebab-case key, used in requests and storage.</param>
/// <param name="NegativePrompt">The catalog's common negative prompt followed by the style's own.</param>
public sealed record Style(string Id, string Name, string Description, string Prompt, string NegativePrompt, StyleOptions Options);

/// <summary>The style's generation settings: output size in pixels, identity weight and guidance, as flux-pulid takes them.</summary>
public sealed record StyleOptions(int Width, int Height, double IdWeight, double GuidanceScale);
