namespace PinGlass.Replicate.Providers;

/// <summary>The providers' names, as used by <c>REPLICATE_PRIMARY_MODEL</c> and <c>Replicate:Models</c>.</summary>
public static class ProviderNames
{
    public const string FluxPulid = "flux-pulid";
    public const string FluxKontextPro = "flux-kontext-pro";
    public const string InstantId = "instant-id";
    public const string FluxMultiPulid = "flux-multi-pulid";

    /// <summary>The single-face providers, in the design's fallback order.</summary>
    public static readonly string[] Single = [FluxPulid, FluxKontextPro, InstantId];

    public static readonly string[] All = [.. Single, FluxMultiPulid];
}
