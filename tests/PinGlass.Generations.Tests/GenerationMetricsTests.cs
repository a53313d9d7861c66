using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace PinGlass.Generations.Tests;

/// <summary>The pipeline's counters reach the PinGlass meter (what the Aspire dashboard shows) with the tags they are read by.</summary>
public sealed class GenerationMetricsTests
{
    [Fact]
    public void Regenerations_fallbacks_and_ended_portraits_are_counted_with_their_tags()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new GenerationMetrics(services.GetRequiredService<IMeterFactory>());
        var measured = new List<(string Instrument, long Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == GenerationMetrics.MeterName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            measured.Add((instrument.Name, value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value))));
        listener.Start();

        metrics.Regenerated("different_person");
        metrics.Regenerated("no_face");
        metrics.FellBack("flux-pulid", "flux-kontext-pro");
        metrics.PortraitEnded("succeeded", "flux-pulid");
        metrics.PortraitEnded("failed", null);

        Assert.Equal(["different_person", "no_face"], measured.Where(m => m.Instrument == "pinglass.portraits.regenerated").Select(m => m.Tags["reason"]));
        var fallback = Assert.Single(measured, m => m.Instrument == "pinglass.fallbacks");
        Assert.Equal(("flux-pulid", "flux-kontext-pro"), (fallback.Tags["from"], fallback.Tags["to"]));
        Assert.Equal([("succeeded", "flux-pulid"), ("failed", "none")],
            measured.Where(m => m.Instrument == "pinglass.portraits").Select(m => (m.Tags["outcome"], m.Tags["provider"])));
        Assert.All(measured, m => Assert.Equal(1, m.Value));
    }
}
