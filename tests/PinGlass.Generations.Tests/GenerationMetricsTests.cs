using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using PinGlass.ServiceDefaults;

namespace PinGlass.Generations.Tests;

/// <summary>The pipeline's instruments reach the PinGlass meter (what the Aspire dashboard shows) with the values and tags they are read by.</summary>
public sealed class GenerationMetricsTests : IDisposable
{
    private readonly ServiceProvider services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly MeterListener listener = new();
    private readonly List<(string Instrument, double Value, Dictionary<string, object?> Tags)> measured = [];
    private readonly GenerationMetrics metrics;

    public GenerationMetricsTests()
    {
        metrics = new GenerationMetrics(services.GetRequiredService<IMeterFactory>());
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == PinGlassTelemetry.Name)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.Start();
    }

    [Fact]
    public void Regenerations_fallbacks_and_ended_portraits_are_counted_with_their_tags()
    {
        metrics.Regenerated("different_person");
        metrics.Regenerated("no_face");
        metrics.FellBack("flux-pulid", "flux-kontext-pro");
        metrics.PortraitEnded("succeeded", "flux-pulid");
        metrics.PortraitEnded("failed", null);
        metrics.BudgetRefused("flux-kontext-pro");

        Assert.Equal(["different_person", "no_face"], Of("pinglass.portraits.regenerated").Select(m => m.Tags["reason"]));
        var fallback = Assert.Single(Of("pinglass.fallbacks"));
        Assert.Equal(("flux-pulid", "flux-kontext-pro"), (fallback.Tags["from"], fallback.Tags["to"]));
        Assert.Equal([("succeeded", "flux-pulid"), ("failed", "none")], Of("pinglass.portraits").Select(m => (m.Tags["outcome"], m.Tags["provider"])));
        Assert.Equal("flux-kontext-pro", Assert.Single(Of("pinglass.budget.refusals")).Tags["provider"]);
    }

    [Fact]
    public void A_settled_prediction_records_its_cost_and_latency_by_model_and_outcome()
    {
        metrics.PredictionSettled("bytedance/flux-pulid", "succeeded", 0.0213m, 17.5);
        metrics.PredictionSettled("bytedance/flux-pulid", "failed", 0.0042m, null);

        Assert.Equal([0.0213, 0.0042], Of("pinglass.cost").Select(m => m.Value));
        Assert.Equal(["succeeded", "failed"], Of("pinglass.cost").Select(m => m.Tags["outcome"]));
        Assert.All(Of("pinglass.cost"), m => Assert.Equal("bytedance/flux-pulid", m.Tags["model"]));
        var latency = Assert.Single(Of("pinglass.prediction.duration")); // no latency when Replicate gave no completion time
        Assert.Equal((17.5, "succeeded"), (latency.Value, latency.Tags["outcome"]));
    }

    [Fact]
    public void Generation_durations_retries_and_the_in_flight_gauge_are_recorded()
    {
        metrics.GenerationEnded("completed", TimeSpan.FromSeconds(24.5));
        metrics.Retried("flux-pulid", 0);
        metrics.Retried("flux-pulid", 2);
        metrics.PredictionsInFlight(17);
        listener.RecordObservableInstruments();

        var duration = Assert.Single(Of("pinglass.generation.duration"));
        Assert.Equal((24.5, "completed"), (duration.Value, duration.Tags["status"]));
        Assert.Equal("completed", Assert.Single(Of("pinglass.generations")).Tags["status"]);
        Assert.Equal(2, Assert.Single(Of("pinglass.retries")).Value);
        Assert.Equal(17, Assert.Single(Of("pinglass.predictions.in_flight")).Value);
    }

    public void Dispose()
    {
        listener.Dispose();
        services.Dispose();
    }

    private IEnumerable<(string Instrument, double Value, Dictionary<string, object?> Tags)> Of(string instrument) =>
        measured.Where(m => m.Instrument == instrument);

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags) =>
        measured.Add((instrument.Name, value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value)));
}
