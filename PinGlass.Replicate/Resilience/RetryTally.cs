namespace PinGlass.Replicate.Resilience;

/// <summary>
/// Counts the retries made within one provider attempt, wherever they happen (the HTTP handler or the safe create), so the
/// attempt record can say how many there were. Flows with the async context of the attempt.
/// </summary>
public sealed class RetryTally
{
    private static readonly AsyncLocal<RetryTally?> Current = new();
    private int retries;

    public int Retries => Volatile.Read(ref retries);

    /// <summary>Starts counting for the calling async flow and what it awaits.</summary>
    public static RetryTally Begin() => Current.Value = new RetryTally();

    internal static void Count()
    {
        if (Current.Value is { } tally)
        {
            Interlocked.Increment(ref tally.retries);
        }
    }
}
