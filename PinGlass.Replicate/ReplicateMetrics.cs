using System.Diagnostics.Metrics;
using PinGlass.ServiceDefaults;

namespace PinGlass.Replicate;

/// <summary>The client's measurements on the "PinGlass" meter: retries, adoptions, opened circuits.</summary>
public sealed class ReplicateMetrics
{
    private readonly Counter<long> retries;
    private readonly Counter<long> adopted;
    private readonly Counter<long> circuitsOpened;

    public ReplicateMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(PinGlassTelemetry.Name);
        retries = meter.CreateCounter<long>("pinglass.replicate.retries", "{retry}", "Replicate requests sent again.");
        adopted = meter.CreateCounter<long>("pinglass.replicate.adopted", "{prediction}", "Predictions found and adopted after an ambiguous create.");
        circuitsOpened = meter.CreateCounter<long>("pinglass.replicate.circuit_opened", "{event}", "Model circuits that opened.");
    }

    public void Retried(string operation) => retries.Add(1, new KeyValuePair<string, object?>("operation", operation));

    public void Adopted(string model) => adopted.Add(1, new KeyValuePair<string, object?>("model", model));

    public void CircuitOpened(string model) => circuitsOpened.Add(1, new KeyValuePair<string, object?>("model", model));
}
