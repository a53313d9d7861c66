namespace PinGlass.ReplicateEmulator.Latency;

/// <summary>
/// A model's latency in Replicate time: predict time per output image, cold boot, and queueing on a warm worker,
/// each drawn uniformly between its bounds. A zero cold start marks an always-on (official) model.
/// </summary>
public sealed record LatencyProfile(
    TimeSpan PerImageMin,
    TimeSpan PerImageMax,
    TimeSpan ColdStartMin,
    TimeSpan ColdStartMax,
    TimeSpan QueueMin,
    TimeSpan QueueMax)
{
    /// <summary>How long a worker stays warm after its last prediction before the next one boots cold.</summary>
    public static readonly TimeSpan WarmFor = TimeSpan.FromMinutes(10);

    public bool AlwaysOn => ColdStartMax == TimeSpan.Zero;
}
