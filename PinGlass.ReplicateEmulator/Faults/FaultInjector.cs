using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using PinGlass.ReplicateEmulator.Telemetry;

namespace PinGlass.ReplicateEmulator.Faults;

/// <summary>Decides, rule by rule, whether a fault happens now; logs and counts every fault it injects.</summary>
public sealed class FaultInjector(IOptions<EmulatorOptions> options, Clock clock, EmulatorMetrics metrics, ILogger<FaultInjector> logger)
{
    private sealed record ActiveRule(FaultRule Rule, FaultKind Kind)
    {
        public int Remaining = Rule.Count ?? int.MaxValue;
    }

    private readonly Lock writing = new();
    private volatile ActiveRule[] rules = Activate(options.Value.Faults);
    private readonly ConcurrentDictionary<string, long> injected = new();
    private readonly ConcurrentDictionary<string, DateTimeOffset> burstsUntil = new();

    public IReadOnlyList<FaultRule> Rules => [.. rules.Select(r => r.Rule)];

    public IReadOnlyDictionary<string, long> Injected => injected;

    public void Replace(IEnumerable<FaultRule> newRules)
    {
        var activated = Activate(newRules);
        lock (writing)
        {
            rules = activated;
            burstsUntil.Clear();
        }

        logger.FaultRulesReplaced(activated.Length);
    }

    public void Add(FaultRule rule)
    {
        var activated = Activate([rule]);
        lock (writing)
        {
            rules = [.. rules, .. activated];
        }
    }

    /// <summary>Fires the first matching rule of that kind whose dice roll succeeds.</summary>
    public FaultRule? TryFire(FaultKind kind, string? model, string detail = "")
    {
        foreach (var active in rules)
        {
            if (active.Kind != kind || !Matches(active.Rule, model)
                || (active.Rule.Request is { Length: > 0 } request && !detail.StartsWith(request, StringComparison.OrdinalIgnoreCase))
                || Random.Shared.NextDouble() >= active.Rule.Probability)
            {
                continue;
            }

            if (Interlocked.Decrement(ref active.Remaining) < 0)
            {
                continue;
            }

            Record(kind, model, detail);
            return active.Rule;
        }

        return null;
    }

    /// <summary>
    /// How long a 429 burst for this model still lasts, starting a new burst when a <c>rate_limit</c> rule fires.
    /// Every throttled request counts as an injected fault.
    /// </summary>
    public TimeSpan? RateLimitBurst(string? model)
    {
        var key = model ?? "*";
        var now = clock.UtcNow;
        if (burstsUntil.TryGetValue(key, out var until) && until > now)
        {
            Record(FaultKind.RateLimit, model, "burst continues");
            return until - now;
        }

        var rule = TryFire(FaultKind.RateLimit, model, "burst starts");
        if (rule is null)
        {
            return null;
        }

        var length = clock.ToWall(rule.Duration ?? TimeSpan.FromSeconds(30));
        burstsUntil[key] = now + length;
        return length;
    }

    private void Record(FaultKind kind, string? model, string detail)
    {
        var name = FaultKinds.Name(kind);
        injected.AddOrUpdate(name, 1, (_, n) => n + 1);
        metrics.FaultInjected(name, model);
        logger.FaultInjected(name, model ?? "*", detail);
    }

    private static bool Matches(FaultRule rule, string? model) =>
        string.IsNullOrEmpty(rule.Model) || string.Equals(rule.Model, model, StringComparison.OrdinalIgnoreCase);

    private static ActiveRule[] Activate(IEnumerable<FaultRule> source) =>
        [.. source.Select(rule => new ActiveRule(rule, FaultKinds.TryParse(rule.Kind, out var kind)
            ? kind
            : throw new ArgumentException($"Fault kind '{rule.Kind}' is unknown.", nameof(source))))];
}
