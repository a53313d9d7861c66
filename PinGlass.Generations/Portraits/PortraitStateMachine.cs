using PinGlass.Generations.Persistence;
using PinGlass.Replicate.Errors;
using static PinGlass.Generations.Portraits.PortraitDecision;

namespace PinGlass.Generations.Portraits;

/// <summary>A provider of the chain as a decision sees it: its worst-case cost and whether it may be used now.</summary>
/// <param name="Available">False while its circuit is open or its health probe fails (on any replica).</param>
public sealed record ProviderOption(string Name, decimal WorstCase, bool Available);

/// <summary>Everything a portrait's next step depends on, read at one moment.</summary>
/// <param name="Attempts">The portrait's prediction rows, every chain, in attempt order.</param>
/// <param name="Chain">The providers in the order the portrait tries them.</param>
public sealed record PortraitSituation(
    GenerationRow Generation,
    PortraitRow Portrait,
    IReadOnlyList<PredictionRow> Attempts,
    IReadOnlyList<ProviderOption> Chain,
    int ReferenceCount,
    DateTimeOffset Now)
{
    /// <summary>The prediction row of the portrait's current attempt, if it has been recorded.</summary>
    public PredictionRow? Current => Attempts.FirstOrDefault(a => a.Attempt == Portrait.Attempt);

    public bool PastDeadline => Now > Generation.Deadline;
}

/// <summary>
/// The portrait state machine: one pure function from a portrait's situation to its next step. The states, the transitions and
/// why are drawn in docs/architecture.md, whose table a test checks against this function.
/// </summary>
public static class PortraitStateMachine
{
    public const string ProvidersUnavailable = "providers_unavailable";
    public const string BudgetExhausted = "budget_exhausted";
    public const string Deadline = "deadline";
    public const string Cancelled = "cancelled";

    public static PortraitDecision Decide(PortraitSituation situation)
    {
        var (generation, portrait) = (situation.Generation, situation.Portrait);
        if (portrait.IsTerminal)
        {
            return new Wait(WaitReason.Ended);
        }

        var current = portrait.Status == PortraitStatus.Running ? situation.Current : null;
        PortraitDecision? canAct = !generation.IsRunning ? new Wait(WaitReason.GenerationStopped)
            : situation.PastDeadline ? new Wait(WaitReason.PastDeadline)
            : null;
        if (portrait.Status == PortraitStatus.Pending)
        {
            return canAct ?? new Start();
        }

        if (current is null)
        {
            return canAct ?? Submit(situation);
        }

        if (current.IsOpen)
        {
            return current is { Status: PredictionState.Creating, PredictionId: null } ? canAct ?? new Send() : new Wait(WaitReason.PredictionRunning);
        }

        if (current is { Status: PredictionState.Succeeded, BlobName: not null, ContentType: not null })
        {
            return Delivered(situation, current);
        }

        return generation.IsRunning ? Failed(situation, current) : new Wait(WaitReason.GenerationStopped);
    }

    /// <summary>The finalizer's step for a portrait still open when its generation is cancelled or passes its deadline.</summary>
    public static PortraitDecision DecideStop(PortraitRow portrait, bool cancelled) =>
        portrait.IsTerminal ? new Wait(WaitReason.Ended)
        : cancelled ? new Fail(Cancelled, "The generation was cancelled.")
        : End(portrait, Deadline, "The generation's deadline passed before this portrait was made.");

    /// <summary>The current attempt has no prediction row yet: the next provider, if the budget holds its worst case now.</summary>
    private static PortraitDecision Submit(PortraitSituation situation)
    {
        var (generation, portrait) = (situation.Generation, situation.Portrait);
        if (NextProvider(situation) is not { } next)
        {
            var last = situation.Attempts.LastOrDefault();
            return End(portrait, last?.ErrorCategory ?? ProvidersUnavailable,
                last?.Error ?? "Every provider has been tried, or is unavailable (circuit open or health probe failing).");
        }

        if (generation.Spent + generation.Reserved + next.WorstCase > generation.Budget)
        {
            // Others in flight reserved their worst case and most cost less: their settling may free room. With none in flight, it is over.
            return generation.Reserved > 0
                ? new Wait(WaitReason.Budget)
                : End(portrait, BudgetExhausted,
                    $"The budget of ${generation.Budget:0.00} cannot hold another {next.Name} prediction (up to ${next.WorstCase:0.0000}); ${generation.Spent:0.0000} is spent.",
                    next.Name);
        }

        return new Submit(next.Name, ReferenceFor(portrait, situation.ReferenceCount), next.WorstCase);
    }

    /// <summary>
    /// The current attempt delivered an image. One the identity gate refused is made again while the generation runs, time remains, a
    /// provider is up and what the budget has left covers it; otherwise it is delivered flagged.
    /// </summary>
    private static PortraitDecision Delivered(PortraitSituation situation, PredictionRow current)
    {
        var (generation, identity) = (situation.Generation, current.Identity);
        if (identity is not { Decision: IdentityCheck.Regenerate })
        {
            return new Deliver(identity);
        }

        return generation.IsRunning && !situation.PastDeadline && situation.Chain.FirstOrDefault(p => p.Available) is { } provider
               && generation.Spent + provider.WorstCase <= generation.Budget
            ? new Regenerate(identity.NextReferenceIndex, identity.NextIdWeight)
            : new Deliver(identity with { Decision = IdentityCheck.DeliverFlagged });
    }

    /// <summary>
    /// The current attempt failed: the next provider takes over if the error allows it, there is one, time remains and what the budget
    /// has left covers it. What others reserved is not counted here: the next attempt waits for room while they are in flight.
    /// </summary>
    private static PortraitDecision Failed(PortraitSituation situation, PredictionRow current)
    {
        var category = ErrorCategoryNames.Parse(current.ErrorCategory) ?? ErrorCategory.ModelError;
        var error = current.Error ?? "The prediction did not deliver.";
        if (ErrorPolicy.DispositionOf(category) != ErrorDisposition.Final && !situation.PastDeadline && NextProvider(situation) is { } next)
        {
            return situation.Generation.Spent + next.WorstCase <= situation.Generation.Budget
                ? new FallBack(current.Provider, next.Name, category, error)
                : End(situation.Portrait, BudgetExhausted,
                    $"{current.Provider} failed ({error}); what the budget has left cannot hold {next.Name} (up to ${next.WorstCase:0.0000}).", next.Name);
        }

        return End(situation.Portrait, category.Name(), error);
    }

    /// <summary>A portrait that ends without an image of its own delivers the one the gate refused, if it kept one.</summary>
    private static PortraitDecision End(PortraitRow portrait, string reason, string message, string? budgetRefused = null) =>
        portrait.HasRefusedOutput ? new DeliverRefused(reason, budgetRefused) : new Fail(reason, message, budgetRefused);

    /// <summary>The first provider of the chain not yet tried in the portrait's current chain, and available now.</summary>
    private static ProviderOption? NextProvider(PortraitSituation situation)
    {
        var tried = situation.Attempts.Where(a => a.Attempt >= situation.Portrait.ChainStart).Select(a => a.Provider).ToHashSet(StringComparer.OrdinalIgnoreCase);
        return situation.Chain.FirstOrDefault(p => p.Available && !tried.Contains(p.Name));
    }

    /// <summary>References rotate: each portrait walks through them, each batch one further on; a regeneration uses the gate's choice.</summary>
    private static int ReferenceFor(PortraitRow portrait, int referenceCount) =>
        portrait.ReferenceIndex ?? (portrait.Batch + portrait.Index) % Math.Max(1, referenceCount);
}
