using System.ComponentModel.DataAnnotations;

namespace PinGlass.Generations.Quotas;

/// <summary>
/// The limits every client application has unless an operator set its own (<c>keys limits</c>). Section <c>Quotas</c>.
/// </summary>
public sealed class QuotaOptions
{
    public const string Section = "Quotas";

    /// <summary>Api requests a client may make in a minute, counted in Redis across the Api's replicas.</summary>
    [Range(1, 1_000_000)]
    public int RequestsPerMinute { get; set; } = 600;

    /// <summary>Generations one end user may have running (or queued) at once.</summary>
    [Range(1, 10_000)]
    public int GenerationsPerUser { get; set; } = 2;

    /// <summary>
    /// What a client may commit in a UTC day, in USD: what its ended generations started (or last run again) that day cost, and each one still running at its
    /// whole budget (all it may yet spend), whatever day it started (<see cref="Quota.Check"/>).
    /// </summary>
    [Range(typeof(decimal), "0", "10000000")]
    public decimal DailySpendCap { get; set; } = 250m;

    /// <summary>Progress event streams a client may hold open at once on one Api replica (each holds a connection and a subscription).</summary>
    [Range(1, 1_000_000)]
    public int EventStreamsPerClient { get; set; } = 100;
}
