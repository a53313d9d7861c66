namespace PinGlass.ReplicateEmulator;

/// <summary>
/// Converts between Replicate time (what the latency model, deadlines, retention and fault durations are written in)
/// and wall time, which is Replicate time divided by <see cref="EmulatorOptions.TimeScale"/>.
/// Timestamps in responses are wall-clock; <c>metrics</c> and the ledger are in Replicate seconds.
/// </summary>
public sealed class Clock(TimeProvider time, Microsoft.Extensions.Options.IOptions<EmulatorOptions> options)
{
    public double Scale { get; } = options.Value.TimeScale;

    public TimeProvider Time => time;

    public DateTimeOffset UtcNow => time.GetUtcNow();

    public TimeSpan ToWall(TimeSpan replicate) => replicate / Scale;

    public TimeSpan ToReplicate(TimeSpan wall) => wall * Scale;

    /// <summary>Waits a Replicate-time span.</summary>
    public Task Delay(TimeSpan replicate, CancellationToken cancellationToken = default) =>
        replicate <= TimeSpan.Zero ? Task.CompletedTask : Task.Delay(ToWall(replicate), time, cancellationToken);
}
