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
    public const string BudgetExhausted = "budget_exhausted";
    public const string Deadline = "deadline";
    public const string Cancelled = "cancelled";
    public const string IdentityRefused = "identity_refused";

    /// <summary>Failed predictions (or safety refusals) of one provider that rule it out for a portrait's chain.</summary>
    public const int ModelFailuresPerProvider = 2;

    /// <summary>The longest wait before a provider is asked again after passing failures.</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    /// <summary>The wait before a provider is asked again after its <paramref name="failures"/>-th passing failure: 2 s, doubling, at most 30 s.</summary>
    public static TimeSpan Backoff(int failures) =>
        TimeSpan.FromSeconds(Math.Min(MaxBackoff.TotalSeconds, 2 * Math.Pow(2, Math.Clamp(failures - 1, 0, 10))));

    /// <summary>
    /// Passing trouble taking in a delivered output (its host answering 5xx, the faces service down): the wait before it is taken in
    /// again, while tries remain and the generation runs with time for it — the back-off, then the next look at the prediction
    /// (<paramref name="lookEvery"/>, the webhook grace), twice over, before the deadline; null: it is taken in as it stands (the
    /// output given up and the portrait made elsewhere, or delivered marked unchecked), never left for the deadline to fail.
    /// </summary>
    public static TimeSpan? TakeInRetry(GenerationRow generation, int tries, int maxTries, TimeSpan lookEvery, DateTimeOffset now) =>
        tries < maxTries && generation.IsRunning && now + (2 * (Backoff(tries + 1) + lookEvery)) < generation.Deadline ? Backoff(tries + 1) : null;

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

    /// <summary>
    /// The finalizer's step for a portrait still open when its generation is cancelled, stopped because Replicate refused the account,
    /// or passes its deadline.
    /// </summary>
    public static PortraitDecision DecideStop(PortraitRow portrait, GenerationRow generation) =>
        portrait.IsTerminal ? new Wait(WaitReason.Ended)
        : generation.CancelRequestedAt is not null
            ? portrait is { Replacing: true, HasKeptOutput: true } ? new DeliverRefused(Cancelled) : new Fail(Cancelled, "The generation was cancelled.")
        : generation.StopCategory is { } category ? End(portrait, category, $"The generation stopped: {generation.StopError}")
        : End(portrait, Deadline, "The generation's deadline passed before this portrait was made.");

    /// <summary>Why what is left of a stopped generation ends: it was cancelled, Replicate refused the account, or its deadline passed.</summary>
    public static string StopReason(GenerationRow generation) =>
        generation.CancelRequestedAt is not null ? Cancelled : generation.StopCategory ?? Deadline;

    /// <summary>
    /// A portrait that ends for this reason stops its whole generation: Replicate refused the account (401: the token, 402: billing),
    /// so every other create would be refused too.
    /// </summary>
    public static bool StopsGeneration(string reason) =>
        reason == ErrorCategory.Authentication.Name() || reason == ErrorCategory.Billing.Name();

    /// <summary>
    /// The current attempt has no prediction row yet: the next provider, once it is available and its back-off has passed, if the
    /// budget holds its worst case now. Passing trouble (a throttle, an outage, an open circuit) makes the portrait wait while its
    /// deadline allows; only providers that failed it for good make it fail.
    /// </summary>
    private static PortraitDecision Submit(PortraitSituation situation)
    {
        var (generation, portrait) = (situation.Generation, situation.Portrait);
        var choice = NextProvider(situation);
        if (choice.Available is not { } next)
        {
            if (choice.Any is not null)
            {
                return new Wait(WaitReason.ProviderUnavailable);
            }

            var last = situation.Attempts.LastOrDefault();
            return End(portrait, last?.ErrorCategory ?? ErrorCategory.ModelError.Name(), last?.Error ?? "Every provider of the chain failed this portrait.");
        }

        if (situation.Now < choice.NotBefore)
        {
            return new Wait(WaitReason.Backoff);
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
            return identity is { Flagged: true } ? DeliverFlagged(situation.Portrait, identity) : new Deliver(identity);
        }

        return generation.IsRunning && !situation.PastDeadline && situation.Chain.FirstOrDefault(p => p.Available) is { } provider
               && generation.Spent + provider.WorstCase <= generation.Budget
            ? new Regenerate(identity.NextReferenceIndex, identity.NextIdWeight)
            : DeliverFlagged(situation.Portrait, identity with { Decision = IdentityCheck.DeliverFlagged });
    }

    /// <summary>
    /// An output the gate flagged is delivered — unless the portrait is being made again on request: a flagged replacement is no
    /// replacement, the portrait it had is delivered again.
    /// </summary>
    private static PortraitDecision DeliverFlagged(PortraitRow portrait, IdentityCheck identity) =>
        portrait is { Replacing: true, HasKeptOutput: true } ? new DeliverRefused(IdentityRefused) : new Deliver(identity);

    /// <summary>
    /// The current attempt failed. A failure of the account or the request, or one after the deadline, ends the portrait. Otherwise
    /// the next attempt goes to the provider <see cref="NextProvider"/> names (the same one again after a throttle, or when every
    /// other failed too), if what the budget has left covers it; when every provider failed it for good, it ends. What others
    /// reserved is not counted here: the next attempt waits for room while they are in flight.
    /// </summary>
    private static PortraitDecision Failed(PortraitSituation situation, PredictionRow current)
    {
        var category = ErrorCategoryNames.Parse(current.ErrorCategory) ?? ErrorCategory.ModelError;
        var error = current.Error ?? "The prediction did not deliver.";
        if (ErrorPolicy.DispositionOf(category) == ErrorDisposition.Final || situation.PastDeadline
            || NextProvider(situation) is not { Any: { } any } choice)
        {
            return End(situation.Portrait, category.Name(), error);
        }

        var next = choice.Available ?? any;
        if (situation.Generation.Spent + next.WorstCase > situation.Generation.Budget)
        {
            return End(situation.Portrait, BudgetExhausted,
                $"{current.Provider} failed ({error}); what the budget has left cannot hold {next.Name} (up to ${next.WorstCase:0.0000}).", next.Name);
        }

        return next.Name.Equals(current.Provider, StringComparison.OrdinalIgnoreCase)
            ? new Retry(current.Provider, category, error)
            : new FallBack(current.Provider, next.Name, category, error);
    }

    /// <summary>
    /// A portrait that ends without an image of its own delivers the one it kept: the one the gate refused, or the one it had before it
    /// was made again on request.
    /// </summary>
    private static PortraitDecision End(PortraitRow portrait, string reason, string message, string? budgetRefused = null) =>
        portrait.HasKeptOutput ? new DeliverRefused(reason, budgetRefused) : new Fail(reason, message, budgetRefused);

    /// <summary>Where the next attempt goes: the best available provider, the best one at all, and when it may be asked.</summary>
    private sealed record ProviderChoice(ProviderOption? Available, ProviderOption? Any, DateTimeOffset NotBefore);

    /// <summary>
    /// Of the providers that have not failed the portrait for good in its current chain (<see cref="RulesOut"/>), the one tried least
    /// often (in chain order), after a throttle the throttled one while it is available (a 429 means wait, and the account's limit is
    /// every model's). A provider asked again waits out its back-off from its last passing failure.
    /// </summary>
    private static ProviderChoice NextProvider(PortraitSituation situation)
    {
        var ended = situation.Attempts.Where(a => a.Attempt >= situation.Portrait.ChainStart && !a.IsOpen).ToList();
        var passing = ended.Where(IsPassing).ToList();
        var usable = situation.Chain
            .Where(p => !RulesOut([.. ended.Where(a => a.Provider.Equals(p.Name, StringComparison.OrdinalIgnoreCase) && !IsPassing(a))]))
            .ToList();
        if (ended.LastOrDefault() is { ErrorCategory: var last, Provider: var throttled } && last == ErrorCategory.RateLimit.Name()
            && usable.Any(p => p.Available && p.Name.Equals(throttled, StringComparison.OrdinalIgnoreCase)))
        {
            usable = [.. usable.Where(p => p.Name.Equals(throttled, StringComparison.OrdinalIgnoreCase))];
        }

        int Failures(ProviderOption p) => ended.Count(a => a.Provider.Equals(p.Name, StringComparison.OrdinalIgnoreCase));
        var any = usable.OrderBy(Failures).FirstOrDefault();
        var available = usable.Where(p => p.Available).OrderBy(Failures).FirstOrDefault();
        if (available is null)
        {
            return new ProviderChoice(null, any, DateTimeOffset.MinValue);
        }

        var failures = passing.Count(a => a.Provider.Equals(available.Name, StringComparison.OrdinalIgnoreCase));
        var lastFailure = passing.Where(a => a.Provider.Equals(available.Name, StringComparison.OrdinalIgnoreCase)).Select(a => a.CompletedAt).Max();
        return new ProviderChoice(available, any, failures == 0 || lastFailure is null ? DateTimeOffset.MinValue : lastFailure.Value + Backoff(failures));
    }

    /// <summary>
    /// Whether a provider's failures in the chain that do not pass rule it out: a refused input or a missing model at once (it would
    /// refuse again), a failed prediction or a safety refusal the second time (the model ran out of memory or was interrupted, a new
    /// seed may pass its checker: Replicate's own errors say "please retry").
    /// </summary>
    private static bool RulesOut(IReadOnlyList<PredictionRow> failures) =>
        failures.Count >= ModelFailuresPerProvider
        || failures.Any(a => ErrorCategoryNames.Parse(a.ErrorCategory) is not (ErrorCategory.ModelError or ErrorCategory.Safety));

    /// <summary>An attempt that failed for a reason that passes (a throttle, a 5xx, a timeout, a broken connection): the provider may be asked again.</summary>
    private static bool IsPassing(PredictionRow attempt) =>
        ErrorCategoryNames.Parse(attempt.ErrorCategory) is { } category && ErrorPolicy.IsRetryable(category);

    /// <summary>References rotate: each portrait walks through them, each batch one further on; a regeneration uses the gate's choice.</summary>
    private static int ReferenceFor(PortraitRow portrait, int referenceCount) =>
        portrait.ReferenceIndex ?? (portrait.Batch + portrait.Index) % Math.Max(1, referenceCount);
}
