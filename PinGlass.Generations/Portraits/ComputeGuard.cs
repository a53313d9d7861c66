using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PinGlass.Generations.Persistence;
using PinGlass.Replicate;
using PinGlass.Replicate.Providers;

namespace PinGlass.Generations.Portraits;

/// <summary>
/// Carries out <see cref="ComputeLimit"/> for one running prediction at each look: asks Replicate when it started, gives it more of the
/// budget when it computes long and the budget has room (half its first reservation a step, a few steps a look), and otherwise
/// cancels it when it reaches what it has or its run limit: marked first, so its end is a passing timeout, then cancelled on Replicate (billing stops) and
/// taken in.
/// </summary>
public sealed partial class ComputeGuard(PredictionLedger ledger, ProviderChain chain, PortraitDriver driver, IOptions<PipelineOptions> options,
    IOptions<ReplicateOptions> replicateOptions, GenerationMetrics metrics, TimeProvider time, ILogger<ComputeGuard> logger)
{
    /// <summary>
    /// Steps one look takes at most: a look at Replicate, then an extension or two (another watcher's may cross this one's); a bound on
    /// the loop, never a reason to stop a prediction the budget can pay for: the next look goes on.
    /// </summary>
    private const int MaxSteps = 4;

    /// <summary>
    /// The most a prediction's reservation grows to, in first reservations (its <see cref="PipelineOptions.MaxPredictTime"/>): a prediction
    /// computing three times as long as the slowest expected is stuck, not slow. The bound also keeps the reservation of one whose end
    /// has not reached PinGlass yet (a late webhook) from growing over the whole budget and holding every other portrait back.
    /// </summary>
    private const int MaxReservations = 3;

    /// <summary>
    /// One look: whether it asked Replicate about the prediction, and when to stop it if that falls before the next look. After asking,
    /// or after its reservation grew (here or by another watcher meanwhile), it decides again at once: what it learnt may put the limit
    /// within this look.
    /// </summary>
    public async Task<(bool Looked, DateTimeOffset? StopAt)> WatchAsync(PredictionRow prediction, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var provider = chain[prediction.Provider];
        var looked = false;
        for (var step = 0; ; step++)
        {
            var now = time.GetUtcNow();
            // The next look comes a watch interval after this pass ends, and a pass may wait out one interval's stops: two ahead.
            var decided = ComputeLimit.Decide(prediction, provider.UsdPerSecond, settings.ComputeMargin, replicateOptions.Value.ClockScale,
                settings.WatchInterval * 2, replicateOptions.Value.GenerationTimeout, now);
            switch (decided)
            {
                case ComputeStep.Look when !looked && step < MaxSteps:
                    await driver.RefreshAsync(prediction, cancellationToken);
                    looked = true;
                    break;
                case ComputeStep.Extend extend when step < MaxSteps:
                    var first = provider.WorstCaseCost(settings.MaxPredictTimeOf(provider.Name));
                    var extra = first / 2;
                    if (prediction.Reserved + extra <= first * MaxReservations
                        && await ledger.ExtendComputeAsync(prediction.Marker, prediction.Reserved, extra, cancellationToken))
                    {
                        LogExtended(logger, prediction.GenerationId, prediction.PortraitIndex, prediction.PredictionId!, extra);
                    }
                    else if (await ledger.ByMarkerAsync(prediction.Marker, cancellationToken) is not { IsOpen: true } other
                             || other.Reserved == prediction.Reserved)
                    {
                        return (looked, extend.CancelAt); // the budget, or the bound, has no room for it
                    }

                    break; // grown, by this watcher or another
                case ComputeStep.Stop stop:
                    return (looked, stop.At);
                case ComputeStep.CancelAgain:
                    return (looked, now);
                default:
                    return (looked, null);
            }

            if (await ledger.ByMarkerAsync(prediction.Marker, cancellationToken) is not { } fresh)
            {
                return (looked, null);
            }

            prediction = fresh;
        }
    }

    /// <summary>
    /// Waits until <paramref name="at"/>, then stops the prediction at its limit. Trouble is logged, not thrown: the next look sends the
    /// cancel again.
    /// </summary>
    public async Task CancelAtAsync(PredictionRow prediction, DateTimeOffset at, CancellationToken cancellationToken)
    {
        try
        {
            var wait = at - time.GetUtcNow();
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, time, cancellationToken);
            }

            // Asked first: one that has ended, its news not taken in yet (a late webhook), is taken in rather than cancelled.
            await driver.RefreshAsync(prediction, cancellationToken);
            if (await ledger.ByMarkerAsync(prediction.Marker, cancellationToken) is not { IsOpen: true, IsTakingIn: false }
                || !await ledger.MarkOverranAsync(prediction.Marker, cancellationToken))
            {
                return; // it ended meanwhile
            }

            if (prediction.OverranAt is null)
            {
                LogOverran(logger, prediction.GenerationId, prediction.PortraitIndex, prediction.PredictionId!, prediction.Reserved);
                metrics.Overran(prediction.Provider);
            }

            await driver.CancelQuietlyAsync(prediction.PredictionId!, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogStopFailed(logger, prediction.GenerationId, prediction.PortraitIndex, prediction.PredictionId!, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Generation {GenerationId} portrait {Index}: prediction {PredictionId} computes long; its reservation grew by ${Extra}")]
    private static partial void LogExtended(ILogger logger, Guid generationId, int index, string predictionId, decimal extra);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Generation {GenerationId} portrait {Index}: prediction {PredictionId} reached its limit (the run timeout, or the compute its reservation of ${Reserved} pays for with the budget holding no more): cancelled")]
    private static partial void LogOverran(ILogger logger, Guid generationId, int index, string predictionId, decimal reserved);

    [LoggerMessage(Level = LogLevel.Error, Message = "Generation {GenerationId} portrait {Index}: prediction {PredictionId} could not be stopped at its limit; the next look tries again")]
    private static partial void LogStopFailed(ILogger logger, Guid generationId, int index, string predictionId, Exception exception);
}
