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

    /// <summary>It was marked to stop and has not ended since: its cancel is sent again.</summary>
    public sealed record CancelAgain : ComputeStep;
}

/// <summary>
/// A time-billed prediction may compute for as long as its reservation pays (its <see cref="PipelineOptions.MaxPredictTime"/>, and more
/// when the budget has room for it), and no longer: past that its cost would outgrow what was reserved and could take the generation
/// over its budget. Replicate cannot be told so (<c>Cancel-After</c> counts from creation, queueing and cold boots included), so PinGlass
/// cancels it a margin before the reservation is spent, counting from when Replicate says it started. Pure: the steps are carried out by
/// <see cref="ComputeGuard"/>.
/// </summary>
public static class ComputeLimit
{
    /// <param name="usdPerSecond">The model's price of a second of compute; null for a model billed per image.</param>
    /// <param name="margin">Replicate time kept between the cancel and the end of what is reserved: the cancel's way there, clock skew.</param>
    /// <param name="clockScale">Replicate seconds in one second of this clock: 1, but for a time-scaled emulator.</param>
    /// <param name="lead">How long before its limit a prediction is dealt with: the next look may come that late.</param>
    public static ComputeStep Decide(PredictionRow prediction, decimal? usdPerSecond, TimeSpan margin, double clockScale, TimeSpan lead,
        DateTimeOffset now)
    {
        if (usdPerSecond is not > 0 || !prediction.IsOpen || prediction.PredictionId is null || prediction.IsTakingIn)
        {
            return new ComputeStep.None();
        }

        var allowed = Allowed(prediction.Reserved, usdPerSecond.Value, margin, clockScale);
        var lastNews = prediction.LastCheckedAt ?? prediction.SubmittedAt ?? prediction.CreatedAt;
        if (prediction.OverranAt is { } marked)
        {
            // A cancel that failed (or whose answer was lost) is sent again at the next look: every second it runs is billed.
            return now - marked >= lead ? new ComputeStep.CancelAgain() : new ComputeStep.None();
        }

        if (prediction.StartedAt is { } started)
        {
            return now >= started + allowed - lead ? new ComputeStep.Extend(started + allowed) : new ComputeStep.None();
        }

        // Not known to have started: it cannot have computed longer than since the last news that it had not. Asked every half of what
        // it may compute, it is found started with half of it left at least.
        return now - lastNews >= allowed / 2 ? new ComputeStep.Look() : new ComputeStep.None();
    }

    /// <summary>How long (in this clock) a prediction with <paramref name="reserved"/> USD reserved may compute before it is cancelled.</summary>
    public static TimeSpan Allowed(decimal reserved, decimal usdPerSecond, TimeSpan margin, double clockScale) =>
        (TimeSpan.FromSeconds((double)(reserved / usdPerSecond)) - margin) / clockScale;

    /// <summary>
    /// How a prediction that ended turned out, as <see cref="ErrorPolicy.Classify"/> says, but one PinGlass cancelled at its compute limit
    /// is a passing timeout: slowness of the moment, not the model's failure, and the portrait is made again while its budget allows.
    /// </summary>
    public static (ErrorCategory? Category, string? Error) Classify(PredictionRow row, Prediction prediction) =>
        row.OverranAt is not null && prediction.Status == PredictionStatus.Canceled
            ? (ErrorCategory.Timeout, $"It computed for as long as its reservation (${row.Reserved:0.0000}) paid for and was cancelled.")
            : ErrorPolicy.Classify(prediction);
}
