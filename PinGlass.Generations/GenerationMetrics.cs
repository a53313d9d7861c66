using System.Diagnostics.Metrics;

namespace PinGlass.Generations;

/// <summary>The pipeline's instruments on the <c>PinGlass</c> meter (the Aspire dashboard shows them).</summary>
public sealed class GenerationMetrics
{
    public const string MeterName = "PinGlass";

    private readonly Counter<long> generations;
    private readonly Counter<long> portraits;
    private readonly Counter<long> fallbacks;
    private readonly Counter<long> webhooks;
    private readonly Counter<long> reconciled;
    private readonly Counter<long> regenerations;
    private readonly Counter<long> budgetRefusals;
    private readonly Histogram<double> createWait;

    public GenerationMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        generations = meter.CreateCounter<long>("pinglass.generations", description: "Generations ended, by status");
        portraits = meter.CreateCounter<long>("pinglass.portraits", description: "Portraits ended, by outcome");
        fallbacks = meter.CreateCounter<long>("pinglass.fallbacks", description: "Portraits handed from one provider to the next");
        webhooks = meter.CreateCounter<long>("pinglass.webhooks", description: "Replicate webhooks received, by result");
        regenerations = meter.CreateCounter<long>("pinglass.portraits.regenerated", description: "Portraits made again because the identity gate refused them, by reason");
        budgetRefusals = meter.CreateCounter<long>("pinglass.budget.refusals", description: "Predictions not made because the generation's budget could not hold them, by provider");
        reconciled = meter.CreateCounter<long>("pinglass.predictions.reconciled", description: "Predictions whose end was found by asking Replicate, not by webhook");
        createWait = meter.CreateHistogram<double>("pinglass.creates.wait", "ms", "Time a create waited for the shared create-rate limit");
    }

    public void GenerationEnded(string status) => generations.Add(1, new KeyValuePair<string, object?>("status", status));

    public void PortraitEnded(string outcome, string? provider) =>
        portraits.Add(1, new("outcome", outcome), new("provider", provider ?? "none"));

    public void FellBack(string from, string to) => fallbacks.Add(1, new("from", from), new("to", to));

    public void Webhook(string result) => webhooks.Add(1, new KeyValuePair<string, object?>("result", result));

    public void Regenerated(string reason) => regenerations.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void BudgetRefused(string provider) => budgetRefusals.Add(1, new KeyValuePair<string, object?>("provider", provider));

    public void Reconciled(string status) => reconciled.Add(1, new KeyValuePair<string, object?>("status", status));

    public void CreateThrottled(double waitedMs) => createWait.Record(waitedMs);
}
