using System.Collections.Concurrent;
using PinGlass.ReplicateEmulator.Models;

namespace PinGlass.ReplicateEmulator.Latency;

/// <summary>When a prediction may start and how long it predicts, in Replicate time.</summary>
/// <param name="StartDelay">From creation to <c>processing</c>: queueing, plus a cold boot when the model's workers are cold.</param>
/// <param name="PredictTime">From <c>processing</c> to the outputs being ready.</param>
/// <param name="ColdStart">Whether this prediction waited for a cold boot.</param>
public sealed record LatencyPlan(TimeSpan StartDelay, TimeSpan PredictTime, bool ColdStart);

/// <summary>
/// Draws latencies from each model's profile and keeps track of warm workers: the first prediction after
/// <see cref="LatencyProfile.WarmFor"/> of idleness boots cold, and predictions arriving during a boot wait for it.
/// </summary>
public sealed class LatencyModel(Clock clock)
{
    private sealed class Workers
    {
        public DateTimeOffset BootEnds = DateTimeOffset.MinValue;
        public DateTimeOffset LastUsed = DateTimeOffset.MinValue;
    }

    private readonly ConcurrentDictionary<string, Workers> workers = new();

    /// <param name="forcedColdStart">A cold boot forced by a fault; its length, or zero to draw one from the profile.</param>
    public LatencyPlan Plan(ReplicateModel model, int images, TimeSpan? forcedColdStart = null)
    {
        var profile = model.Latency;
        var predict = TimeSpan.Zero;
        for (var i = 0; i < images; i++)
        {
            predict += Draw(profile.PerImageMin, profile.PerImageMax);
        }

        var queue = Draw(profile.QueueMin, profile.QueueMax);
        if (forcedColdStart is { } forced)
        {
            var boot = forced > TimeSpan.Zero ? forced : Draw(profile.ColdStartMin, profile.ColdStartMax);
            return new(queue + boot, predict, true);
        }

        if (profile.AlwaysOn)
        {
            return new(queue, predict, false);
        }

        var state = workers.GetOrAdd(model.FullName, _ => new Workers());
        lock (state)
        {
            var now = clock.UtcNow;
            if (state.BootEnds > now)
            {
                return new(queue + clock.ToReplicate(state.BootEnds - now), predict, true);
            }

            if (now - state.LastUsed > clock.ToWall(LatencyProfile.WarmFor))
            {
                var boot = Draw(profile.ColdStartMin, profile.ColdStartMax);
                state.BootEnds = now + clock.ToWall(boot);
                state.LastUsed = state.BootEnds;
                return new(queue + boot, predict, true);
            }

            state.LastUsed = now;
            return new(queue, predict, false);
        }
    }

    /// <summary>Keeps the model's workers warm after a prediction ends.</summary>
    public void Used(ReplicateModel model)
    {
        var state = workers.GetOrAdd(model.FullName, _ => new Workers());
        lock (state)
        {
            state.LastUsed = clock.UtcNow;
        }
    }

    private static TimeSpan Draw(TimeSpan min, TimeSpan max) => min + (max - min) * Random.Shared.NextDouble();
}
