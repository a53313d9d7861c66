using System.Diagnostics.Metrics;
using PinGlass.Domain.Telemetry;
using PinGlass.Replicate.Errors;

namespace PinGlass.Replicate;

/// <summary>The client's measurements on the "PinGlass" meter: attempts, retries, fallbacks, adoptions, opened circuits, latency.</summary>
public sealed class ReplicateMetrics
{
    private readonly Counter<long> attempts;
    private readonly Counter<long> retries;
    private readonly Counter<long> fallbacks;
    private readonly Counter<long> adopted;
    private readonly Counter<long> circuitsOpened;
    private readonly Histogram<double> attemptDuration;

    public ReplicateMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(PinGlassTelemetry.Name);
        attempts = meter.CreateCounter<long>("pinglass.replicate.attempts", "{attempt}", "Provider attempts, by provider and outcome.");
        retries = meter.CreateCounter<long>("pinglass.replicate.retries", "{retry}", "Replicate requests sent again.");
        fallbacks = meter.CreateCounter<long>("pinglass.replicate.fallbacks", "{fallback}", "Generations that moved on to the next provider.");
        adopted = meter.CreateCounter<long>("pinglass.replicate.adopted", "{prediction}", "Predictions found and adopted after an ambiguous create.");
        circuitsOpened = meter.CreateCounter<long>("pinglass.replicate.circuit_opened", "{event}", "Model circuits that opened.");
        attemptDuration = meter.CreateHistogram<double>("pinglass.replicate.attempt.duration", "ms", "Duration of provider attempts.");
    }

    public void Attempted(string provider, string outcome, ErrorCategory? category, double milliseconds)
    {
        KeyValuePair<string, object?>[] tags = [new("provider", provider), new("outcome", outcome), new("error.category", category?.ToString())];
        attempts.Add(1, tags);
        attemptDuration.Record(milliseconds, tags);
    }

    public void Retried(string operation) => retries.Add(1, new KeyValuePair<string, object?>("operation", operation));

    public void FellBack(string from) => fallbacks.Add(1, new KeyValuePair<string, object?>("provider", from));

    public void Adopted(string model) => adopted.Add(1, new KeyValuePair<string, object?>("model", model));

    public void CircuitOpened(string model) => circuitsOpened.Add(1, new KeyValuePair<string, object?>("model", model));
}
