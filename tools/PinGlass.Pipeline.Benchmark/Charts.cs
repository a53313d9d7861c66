using ScottPlot;

namespace PinGlass.Pipeline.Benchmark;

/// <summary>The benchmarks' charts, as PNG.</summary>
public static class Charts
{
    /// <summary>Predictions in flight over time, one line per run.</summary>
    public static void InFlight(string path, string title, string xLabel, IReadOnlyList<(string Label, IReadOnlyList<(double Seconds, int InFlight)> Points)> series)
    {
        var plot = new Plot();
        foreach (var (label, points) in series)
        {
            var line = plot.Add.ScatterLine(points.Select(p => p.Seconds).ToArray(), points.Select(p => (double)p.InFlight).ToArray());
            line.LegendText = label;
        }

        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel("predictions in flight");
        plot.ShowLegend(Alignment.UpperRight);
        plot.SavePng(path, 1000, 500);
    }

    /// <summary>Predictions running at each <paramref name="step"/> from <paramref name="origin"/> until the last one ended.</summary>
    public static List<(double Seconds, int InFlight)> InFlightSeries(IReadOnlyList<(DateTimeOffset Created, DateTimeOffset Completed)> spans,
        DateTimeOffset origin, TimeSpan step)
    {
        var points = new List<(double, int)>();
        if (spans.Count == 0)
        {
            return points;
        }

        var end = spans.Max(s => s.Completed);
        for (var t = origin; t <= end; t += step)
        {
            points.Add(((t - origin).TotalSeconds, spans.Count(s => s.Created <= t && s.Completed > t)));
        }

        return points;
    }
}
