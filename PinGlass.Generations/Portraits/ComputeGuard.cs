using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PinGlass.Generations.Persistence;
using PinGlass.Replicate;
using PinGlass.Replicate.Providers;

namespace PinGlass.Generations.Portraits;

/// <summary>
/// Carries out <see cref="ComputeLimit"/> for one running prediction at each look: asks Replicate when it started, gives it more of the
/// budget when it computes long and the budget has room (half its first reservation at a time), and otherwise cancels it when it reaches
/// what it has: marked first, so its end is a passing timeout, then cancelled on Replicate (billing stops) and taken in.
/// </summary>
public sealed partial class ComputeGuard(PredictionLedger ledger, ProviderChain chain, PortraitDriver driver, IOptions<PipelineOptions> options,
    IOptions<ReplicateOptions> replicateOptions, GenerationMetrics metrics, TimeProvider time, ILogger<ComputeGuard> logger)
{
    /// <summary>Steps one look takes at most: a look at Replicate, then an extension or two; a bound, not a budget.</summary>
    private const int MaxSteps = 4;

    /// <summary>
    /// One look: whether it asked Replicate about the prediction, and when to stop it if that falls before the next look. After asking,
    /// or after its reservation grew, it decides again at once: what it learnt may put the limit within this look.
    /// </summary>
    public async Task<(bool Looked, DateTimeOffset? StopAt)> WatchAsync(PredictionRow prediction, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var provider = chain[prediction.Provider];
        var looked = false;
        for (var step = 0; step < MaxSteps; step++)
        {
            var now = time.GetUtcNow();
            switch (ComputeLimit.Decide(prediction, provider.UsdPerSecond, settings.ComputeMargin, replicateOptions.Value.ClockScale,
                        settings.WatchInterval, now))
            {
                case ComputeStep.Look when !looked:
                    await driver.RefreshAsync(prediction, cancellationToken);
                    looked = true;
                    break;
                case ComputeStep.Extend extend:
                    var extra = provider.WorstCaseCost(settings.MaxPredictTimeOf(provider.Name)) / 2;
                    if (!await ledger.ExtendComputeAsync(prediction.Marker, prediction.Reserved, extra, cancellationToken))
                    {
                        return (looked, extend.CancelAt);
                    }

                    LogExtended(logger, prediction.GenerationId, prediction.PortraitIndex, prediction.PredictionId!, extra);
                    break;
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

        return (looked, null);
    }

    /// <summary>Waits until <paramref name="at"/>, then stops the prediction at its limit.</summary>
    public async Task CancelAtAsync(PredictionRow prediction, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var wait = at - time.GetUtcNow();
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, time, cancellationToken);
        }

        if (!await ledger.MarkOverranAsync(prediction.Marker, cancellationToken))
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Generation {GenerationId} portrait {Index}: prediction {PredictionId} computes long; its reservation grew by ${Extra}")]
    private static partial void LogExtended(ILogger logger, Guid generationId, int index, string predictionId, decimal extra);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Generation {GenerationId} portrait {Index}: prediction {PredictionId} reached the compute its reservation (${Reserved}) pays for and the budget has no more: cancelled")]
    private static partial void LogOverran(ILogger logger, Guid generationId, int index, string predictionId, decimal reserved);
}
