using PinGlass.Generations.Persistence;
using PinGlass.Replicate.Client;
using PinGlass.Replicate.Errors;

namespace PinGlass.Generations.Portraits;

/// <summary>What to do about a running time-billed prediction's compute now.</summary>
public abstract record ComputeStep
{
    private ComputeStep()
    {
    }

    /// <summary>Nothing: it cannot be near what its reservation holds before the next look.</summary>
    public sealed record None : ComputeStep;

    /// <summary>When it started is not known yet: ask Replicate (the answer says, once it has).</summary>
    public sealed record Look : ComputeStep;

    /// <summary>It reaches what its reservation holds at <paramref name="CancelAt"/>: more of the budget, or cancelled then.</summary>
    public sealed record Extend(DateTimeOffset CancelAt) : ComputeStep;

    /// <summary>It reaches its run limit (<c>Replicate:GenerationTimeout</c> from its start) at <paramref name="At"/>: cancelled then, whatever the budget.</summary>
    public sealed record Stop(DateTimeOffset At) : ComputeStep;

    /// <summary>It was marked to stop and has not ended since: its cancel is sent again.</summary>
    public sealed record CancelAgain : ComputeStep;
}

/// <summary>
/// A running prediction is stopped at the first of two limits, both counted from when Replicate says it started (a cold boot before is
/// neither billed nor counted; <c>Cancel-After</c>, which counts from creation, is only the backstop for a PinGlass that is down):
/// its run limit (<c>Replicate:GenerationTimeout</c>: a prediction running that long is stuck, whatever it costs), and for a
/// time-billed one the compute its reservation pays for (its <see cref="PipelineOptions.MaxPredictTime"/>, and more when the budget has
/// room for it), past which its cost would outgrow what was reserved and could take the generation over its budget. Pure: the steps are
/// carried out by <see cref="ComputeGuard"/>.
/// </summary>
public static class ComputeLimit
{
    /// <param name="usdPerSecond">The model's price of a second of compute; null for a model billed per image.</param>
    /// <param name="margin">Replicate time kept between the cancel and the end of what is reserved: the cancel's way there, clock skew.</param>
    /// <param name="clockScale">Replicate seconds in one second of this clock: 1, but for a time-scaled emulator.</param>
    /// <param name="lead">How long before its limit a prediction is dealt with: the next look may come that late.</param>
    /// <param name="runLimit">How long (in this clock) it may run once started.</param>
    public static ComputeStep Decide(PredictionRow prediction, decimal? usdPerSecond, TimeSpan margin, double clockScale, TimeSpan lead,
        TimeSpan runLimit, DateTimeOffset now)
    {
        if (!prediction.IsOpen || prediction.PredictionId is null || prediction.IsTakingIn)
        {
            return new ComputeStep.None();
        }

        if (prediction.OverranAt is { } marked)
        {
            // A cancel that failed (or whose answer was lost) is sent again at the next look: every second it runs is billed.
            return now - marked >= lead ? new ComputeStep.CancelAgain() : new ComputeStep.None();
        }

        var allowed = usdPerSecond is > 0 ? Allowed(prediction.Reserved, usdPerSecond.Value, margin, clockScale) : (TimeSpan?)null;
        if (prediction.StartedAt is { } started)
        {
            var deadline = started + runLimit;
            if (allowed is { } paid && started + paid < deadline)
            {
                return now >= started + paid - lead ? new ComputeStep.Extend(started + paid) : new ComputeStep.None();
            }

            return now >= deadline - lead ? new ComputeStep.Stop(deadline) : new ComputeStep.None();
        }

        // Not known to have started: it cannot have run longer than since the last news that it had not. Asked every half of the
        // nearer limit, it is found started with half of it left at least.
        var nearer = allowed is { } limit && limit < runLimit ? limit : runLimit;
        var lastNews = prediction.LastCheckedAt ?? prediction.SubmittedAt ?? prediction.CreatedAt;
        return now - lastNews >= nearer / 2 ? new ComputeStep.Look() : new ComputeStep.None();
    }

    /// <summary>How long (in this clock) a prediction with <paramref name="reserved"/> USD reserved may compute before it is cancelled.</summary>
    public static TimeSpan Allowed(decimal reserved, decimal usdPerSecond, TimeSpan margin, double clockScale) =>
        (TimeSpan.FromSeconds((double)(reserved / usdPerSecond)) - margin) / clockScale;

    /// <summary>
    /// How a prediction that ended turned out, as <see cref="ErrorPolicy.Classify"/> says, but one PinGlass cancelled at a limit is a
    /// passing timeout: slowness of the moment, not the model's failure, and the portrait is made again while its budget allows.
    /// </summary>
    public static (ErrorCategory? Category, string? Error) Classify(PredictionRow row, Prediction prediction) =>
        row.OverranAt is not null && prediction.Status == PredictionStatus.Canceled
            ? (ErrorCategory.Timeout, $"It ran to its limit (the run timeout, or the compute its reservation of ${row.Reserved:0.0000} pays for) and was cancelled.")
            : ErrorPolicy.Classify(prediction);
}
