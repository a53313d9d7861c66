using ScottPlot;

namespace PinGlass.Pipeline.Benchmark;

/// <summary>The benchmarks' charts, as PNG.</summary>
public static class Charts
{
    /// <summary>Predictions in flight over time, one line per run.</summary>
    public static void InFlight(string path, string title, IReadOnlyList<(string Label, IReadOnlyList<(double Seconds, int InFlight)> Points)> series)
    {
        var plot = new Plot();
        foreach (var (label, points) in series)
        {
            var line = plot.Add.ScatterLine(points.Select(p => p.Seconds).ToArray(), points.Select(p => (double)p.InFlight).ToArray());
            line.LegendText = label;
        }

        plot.Title(title);
        plot.XLabel("seconds from the first create");
        plot.YLabel("predictions in flight");
        plot.ShowLegend();
        plot.SavePng(path, 1000, 500);
    }
}
