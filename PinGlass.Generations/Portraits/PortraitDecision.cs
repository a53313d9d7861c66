using PinGlass.Generations.Persistence;
using PinGlass.Replicate.Errors;

namespace PinGlass.Generations.Portraits;

/// <summary>What a portrait does next: the closed set of steps <see cref="PortraitStateMachine"/> decides and the driver carries out.</summary>
public abstract record PortraitDecision
{
    private PortraitDecision()
    {
    }

    /// <summary>Nothing to do now: the portrait has ended, its generation stopped, or its prediction is running.</summary>
    public sealed record Wait(WaitReason Reason) : PortraitDecision;

    /// <summary>A pending portrait starts running on its next attempt.</summary>
    public sealed record Start : PortraitDecision;

    /// <summary>The current attempt goes to <paramref name="Provider"/>: recorded, with its worst case reserved on the budget.</summary>
    public sealed record Submit(string Provider, int ReferenceIndex, decimal Reservation) : PortraitDecision;

    /// <summary>The current attempt is recorded but its create has not gone out (or its sender stopped): send it.</summary>
    public sealed record Send : PortraitDecision;

    /// <summary>The current attempt delivered: the portrait is stored with the identity gate's verdict (null when unchecked).</summary>
    public sealed record Deliver(IdentityCheck? Identity) : PortraitDecision;

    /// <summary>The identity gate refused the output: the portrait starts a new chain with the gate's reference and id weight.</summary>
    public sealed record Regenerate(int? ReferenceIndex, double? IdWeight) : PortraitDecision;

    /// <summary>The current attempt failed; <paramref name="To"/> takes over on the next attempt.</summary>
    public sealed record FallBack(string From, string To, ErrorCategory Category, string Error) : PortraitDecision;

    /// <summary>
    /// The current attempt failed for a passing reason (a throttle, a 5xx, a timeout) and <paramref name="Provider"/> is asked again on
    /// the next attempt, once its back-off has passed.
    /// </summary>
    public sealed record Retry(string Provider, ErrorCategory Category, string Error) : PortraitDecision;

    /// <summary>The portrait ends without an image; <paramref name="BudgetRefused"/> names the provider the budget could not hold.</summary>
    public sealed record Fail(string Reason, string Message, string? BudgetRefused = null) : PortraitDecision;

    /// <summary>The regeneration delivered nothing: the output the gate refused is delivered, flagged.</summary>
    public sealed record DeliverRefused(string Reason, string? BudgetRefused = null) : PortraitDecision;
}

public enum WaitReason
{
    /// <summary>The portrait has ended.</summary>
    Ended,

    /// <summary>Its generation has ended or was asked to stop: the finalizer ends what is left.</summary>
    GenerationStopped,

    /// <summary>Its generation's deadline passed: the finalizer ends what is left.</summary>
    PastDeadline,

    /// <summary>Its prediction is being made; its end arrives by webhook or poll.</summary>
    PredictionRunning,

    /// <summary>Others' reservations hold the budget; their settling frees room.</summary>
    Budget,

    /// <summary>Every provider it may still use is unavailable now (circuit open, health probe failing): not now, not never.</summary>
    ProviderUnavailable,

    /// <summary>Its next provider failed it for a passing reason a moment ago: it is asked again once the back-off has passed.</summary>
    Backoff,
}
