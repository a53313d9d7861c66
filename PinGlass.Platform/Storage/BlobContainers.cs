namespace PinGlass.Platform.Storage;

/// <summary>The blob containers PinGlass keeps; the migrations step creates them.</summary>
public static class BlobContainers
{
    /// <summary>Users' uploaded reference photos.</summary>
    public const string Photos = "photos";

    /// <summary>Generated portraits, copied out of Replicate as soon as a prediction succeeds.</summary>
    public const string Portraits = "portraits";

    /// <summary>Small objects the services write and read back to prove the blob store works.</summary>
    public const string Probes = "probes";

    public static IReadOnlyList<string> All { get; } = [Photos, Portraits, Probes];
}
