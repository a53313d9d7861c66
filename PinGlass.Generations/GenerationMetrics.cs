using System.Diagnostics.Metrics;
using PinGlass.ServiceDefaults;

namespace PinGlass.Generations;

/// <summary>The pipeline's instruments on the <c>PinGlass</c> meter (the Aspire dashboard shows them).</summary>
public sealed class GenerationMetrics
{
    private readonly Counter<long> generations;
    private readonly Counter<long> portraits;
    private readonly Counter<long> fallbacks;
    private readonly Counter<long> webhooks;
    private readonly Counter<long> reconciled;
    private readonly Counter<long> regenerations;
    private readonly Counter<long> budgetRefusals;
    private readonly Counter<long> overruns;
    private readonly Histogram<double> createWait;
    private readonly Counter<double> cost;
    private readonly Histogram<double> predictionDuration;
    private readonly Histogram<double> generationDuration;
    private readonly Counter<long> retries;
    private long inFlight;

    public GenerationMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(PinGlassTelemetry.Name);
        generations = meter.CreateCounter<long>("pinglass.generations", description: "Generations ended, by status");
        portraits = meter.CreateCounter<long>("pinglass.portraits", description: "Portraits ended, by outcome");
        fallbacks = meter.CreateCounter<long>("pinglass.fallbacks", description: "Portraits handed from one provider to the next");
        webhooks = meter.CreateCounter<long>("pinglass.webhooks", description: "Replicate webhooks received, by result");
        regenerations = meter.CreateCounter<long>("pinglass.portraits.regenerated", description: "Portraits made again because the identity gate refused them, by reason");
        budgetRefusals = meter.CreateCounter<long>("pinglass.budget.refusals", description: "Predictions not made because the generation's budget could not hold them, by provider");
        overruns = meter.CreateCounter<long>("pinglass.predictions.overran", description: "Predictions PinGlass cancelled at a limit (the run timeout, or the compute their reservation paid for with the budget holding no more), by provider");
        reconciled = meter.CreateCounter<long>("pinglass.predictions.reconciled", description: "Predictions whose end was found by asking Replicate, not by webhook");
        createWait = meter.CreateHistogram<double>("pinglass.creates.wait", "ms", "Time a create waited for the shared create-rate limit");
        // "{dollar}": the dashboard shows a unit pluralised and title-cased ("USD" became "US Ds"); braces keep it out of metric names.
        cost = meter.CreateCounter<double>("pinglass.cost", "{dollar}", "What predictions cost in USD, by model and outcome (counted once, when each settles)");
        predictionDuration = meter.CreateHistogram<double>("pinglass.prediction.duration", "s",
            "A prediction's latency on Replicate (created to completed), by model and outcome");
        generationDuration = meter.CreateHistogram<double>("pinglass.generation.duration", "s", "Stored to finalized, by status");
        retries = meter.CreateCounter<long>("pinglass.retries", description: "Replicate calls resent after a retryable error, by provider");
        meter.CreateObservableGauge("pinglass.predictions.in_flight", () => Interlocked.Read(ref inFlight), "{prediction}",
            "Predictions created and not ended, across every replica (sampled by the reconciliation job)");
    }

    public void PredictionSettled(string model, string outcome, decimal usd, double? seconds)
    {
        KeyValuePair<string, object?>[] tags = [new("model", model), new("outcome", outcome)];
        cost.Add((double)usd, tags);
        if (seconds is { } latency)
        {
            predictionDuration.Record(latency, tags);
        }
    }

    public void Retried(string provider, int count)
    {
        if (count > 0)
        {
            retries.Add(count, new KeyValuePair<string, object?>("provider", provider));
        }
    }

    public void PredictionsInFlight(long count) => Interlocked.Exchange(ref inFlight, count);

    public void GenerationEnded(string status, TimeSpan duration)
    {
        generations.Add(1, new KeyValuePair<string, object?>("status", status));
        generationDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("status", status));
    }

    public void PortraitEnded(string outcome, string? provider) =>
        portraits.Add(1, new("outcome", outcome), new("provider", provider ?? "none"));

    public void FellBack(string from, string to) => fallbacks.Add(1, new("from", from), new("to", to));

    public void Webhook(string result) => webhooks.Add(1, new KeyValuePair<string, object?>("result", result));

    public void Regenerated(string reason) => regenerations.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void BudgetRefused(string provider) => budgetRefusals.Add(1, new KeyValuePair<string, object?>("provider", provider));

    public void Overran(string provider) => overruns.Add(1, new KeyValuePair<string, object?>("provider", provider));

    public void Reconciled(string status) => reconciled.Add(1, new KeyValuePair<string, object?>("status", status));

    public void CreateThrottled(double waitedMs) => createWait.Record(waitedMs);
}
