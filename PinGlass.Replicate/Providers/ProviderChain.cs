using Microsoft.Extensions.Options;

namespace PinGlass.Replicate.Providers;

/// <summary>
/// The order in which a portrait tries the providers: the primary (<c>REPLICATE_PRIMARY_MODEL</c>), then, if
/// <c>REPLICATE_ENABLE_FALLBACK</c>, the others in the design's order; the multi-reference provider first when
/// <c>Replicate:EnableMultiReference</c> is on and the portrait has several reference faces.
/// </summary>
public sealed class ProviderChain(IEnumerable<PortraitProvider> providers, IOptions<ReplicateOptions> options)
{
    private readonly Dictionary<string, PortraitProvider> byName = providers.ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);

    public PortraitProvider this[string name] => byName[name];

    /// <summary>
    /// The providers a portrait with <paramref name="faces"/> reference faces goes to, in order: the configured primary (or
    /// <paramref name="primary"/>, a generation's experiment arm's), first the multi-reference one when several faces can go at once
    /// (configured, or <paramref name="multiReference"/>), then the fallbacks.
    /// </summary>
    public IReadOnlyList<PortraitProvider> For(int faces, string? primary = null, bool? multiReference = null)
    {
        var settings = options.Value;
        primary ??= settings.PrimaryModel;
        var chain = new List<PortraitProvider>();
        if ((multiReference ?? settings.EnableMultiReference) && faces > 1)
        {
            chain.Add(byName[ProviderNames.FluxMultiPulid]);
        }

        chain.Add(byName[primary]);
        if (settings.EnableFallback)
        {
            chain.AddRange(ProviderNames.Single.Where(n => !n.Equals(primary, StringComparison.OrdinalIgnoreCase)).Select(n => byName[n]));
        }

        return chain;
    }

    /// <summary>Every provider a portrait may use: the single-face ones, and the multi-reference one when it is on.</summary>
    public IEnumerable<PortraitProvider> InUse => byName.Values.Where(p => options.Value.EnableMultiReference || p.Name != ProviderNames.FluxMultiPulid);
}
