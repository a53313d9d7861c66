using System.Reflection;
using System.Text.Json;
using PinGlass.ReplicateEmulator.Billing;
using PinGlass.ReplicateEmulator.Latency;

namespace PinGlass.ReplicateEmulator.Models;

/// <summary>
/// The models the emulator runs. Versions, schemas and prices come from the reference notes
/// (shared/reference/replicate-api.md §7); latency follows the design figures (flux-pulid 10–20 s an image).
/// </summary>
public sealed class ModelCatalog
{
    private static readonly DateTimeOffset Published = new(2024, 9, 12, 0, 0, 0, TimeSpan.Zero);

    private readonly Dictionary<string, ReplicateModel> byName;
    private readonly Dictionary<string, ReplicateModel> byVersion;

    public ModelCatalog()
    {
        ReplicateModel[] models =
        [
            new("bytedance", "flux-pulid", "8baa7ef2255075b46f4d91cd238c21d31181b3e6a864463f967960bb0112525b", false,
                "PuLID for FLUX: tuning-free ID customization",
                Published, Schema("bytedance-flux-pulid"), new(["main_face_image"], true, "webp"),
                new(Secs(10), Secs(20), Secs(30), Secs(90), Secs(0.1), Secs(0.5)), Price.PerSecond(0.001400m)),
            new("black-forest-labs", "flux-kontext-pro", "897a70f5a7dbd8a0611413b3b98cf417b45f266bd595c571a22947619d9ae462", true,
                "A state-of-the-art text-based image editing model",
                Published, Schema("black-forest-labs-flux-kontext-pro"), new(["input_image"], false, "png"),
                new(Secs(6), Secs(12), TimeSpan.Zero, TimeSpan.Zero, Secs(0.2), Secs(1)), Price.PerImage(0.04m)),
            new("grandlineai", "instant-id-photorealistic", "03914a0c3326bf44383d0cd84b06822618af879229ce5d1d53bef38d93b68279", false,
                "InstantID: zero-shot identity-preserving generation, photorealistic base model",
                Published, Schema("grandlineai-instant-id-photorealistic"), new(["image"], false, "jpg", SizedByFace: true),
                new(Secs(8), Secs(16), Secs(40), Secs(120), Secs(0.1), Secs(0.5)), Price.PerSecond(0.000975m)),
            new("mattheum", "flux-multi-pulid-controlnet", "73a2c5ab8fbf6f29278a0285d6c6282ce61baefce9def279d91223541903687e", false,
                "FLUX PuLID with several identities and ControlNet",
                Published, Schema("mattheum-flux-multi-pulid-controlnet"),
                new(["id_one_image", "id_two_image", "id_three_image", "id_four_image"], true, "webp"),
                new(Secs(12), Secs(24), Secs(40), Secs(120), Secs(0.1), Secs(0.5)), Price.PerSecond(0.001400m)),
        ];
        All = models;
        byName = models.ToDictionary(m => m.FullName, StringComparer.OrdinalIgnoreCase);
        byVersion = models.ToDictionary(m => m.VersionId, StringComparer.OrdinalIgnoreCase);
    }

    public IReadOnlyList<ReplicateModel> All { get; }

    public ReplicateModel? Find(string owner, string name) => byName.GetValueOrDefault($"{owner}/{name}");

    /// <summary>
    /// Resolves a <c>version</c> field: <c>owner/name:hex</c>, a bare 64-hex id, or <c>owner/name</c> (official models only).
    /// </summary>
    public ReplicateModel? ResolveVersion(string version, out bool versionRequested)
    {
        versionRequested = true;
        var colon = version.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            var model = byVersion.GetValueOrDefault(version[(colon + 1)..]);
            return model is not null && string.Equals(model.FullName, version[..colon], StringComparison.OrdinalIgnoreCase) ? model : null;
        }

        if (version.Contains('/', StringComparison.Ordinal))
        {
            versionRequested = false;
            var model = byName.GetValueOrDefault(version);
            return model is { IsOfficial: true } ? model : null;
        }

        return byVersion.GetValueOrDefault(version);
    }

    private static TimeSpan Secs(double seconds) => TimeSpan.FromSeconds(seconds);

    private static JsonElement Schema(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"schemas/{name}.json")
            ?? throw new InvalidOperationException($"Schema resource {name} is missing.");
        using var document = JsonDocument.Parse(stream);
        return document.RootElement.Clone();
    }
}
