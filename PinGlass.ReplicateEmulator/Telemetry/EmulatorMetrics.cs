using System.Diagnostics.Metrics;

namespace PinGlass.ReplicateEmulator.Telemetry;

/// <summary>The emulator's instruments, on the shared "PinGlass" meter that ServiceDefaults exports.</summary>
public sealed class EmulatorMetrics
{
    private readonly Counter<long> predictions;
    private readonly Counter<long> faults;
    private readonly Counter<long> webhooks;
    private readonly Counter<double> billed;

    public EmulatorMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(PinGlass.ServiceDefaults.PinGlassTelemetry.Name);
        predictions = meter.CreateCounter<long>("pinglass.emulator.predictions", description: "Predictions that reached a terminal status.");
        faults = meter.CreateCounter<long>("pinglass.emulator.faults.injected", description: "Faults injected by the fault rules.");
        webhooks = meter.CreateCounter<long>("pinglass.emulator.webhooks", description: "Webhook delivery attempts by outcome.");
        billed = meter.CreateCounter<double>("pinglass.emulator.billed", unit: "{dollar}", description: "What the ledger billed, in USD.");
    }

    public void PredictionFinished(string model, string status) =>
        predictions.Add(1, new("model", model), new("status", status));

    public void FaultInjected(string kind, string? model) =>
        faults.Add(1, new("kind", kind), new("model", model ?? "*"));

    public void WebhookAttempt(string outcome) => webhooks.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void Billed(string model, decimal usd) => billed.Add((double)usd, new KeyValuePair<string, object?>("model", model));
}
