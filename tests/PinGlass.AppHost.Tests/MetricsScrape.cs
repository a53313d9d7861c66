using System.Globalization;
using System.Text.RegularExpressions;

namespace PinGlass.AppHost.Tests;

/// <summary>
/// One reading of a service's <c>/metrics</c> (the Prometheus text format ServiceDefaults serves when Telemetry:ScrapeEndpoint is on):
/// each series' labels and value. Two readings subtract, so a test sees what one run added to counters that live as long as the process.
/// </summary>
public sealed partial class MetricsScrape(IReadOnlyList<MetricsScrape.Series> series, string text)
{
    public sealed record Series(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    public string Text { get; } = text;

    public static async Task<MetricsScrape> ReadAsync(HttpClient service)
    {
        var text = await service.GetStringAsync("/metrics", TestContext.Current.CancellationToken);
        var series = new List<Series>();
        foreach (var line in text.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#')))
        {
            var match = SeriesLine().Match(line);
            Assert.True(match.Success, $"Not a Prometheus series line: {line}");
            var labels = LabelPair().Matches(match.Groups["labels"].Value).ToDictionary(m => m.Groups["key"].Value, m => m.Groups["value"].Value);
            series.Add(new Series(match.Groups["name"].Value, labels, double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture)));
        }

        return new MetricsScrape(series, text);
    }

    /// <summary>The sum of the series called <paramref name="name"/> that carry every label given.</summary>
    public double Sum(string name, params (string Key, string Value)[] labels) =>
        series.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).Sum(s => s.Value);

    /// <summary>The label sets of the series called <paramref name="name"/> (a test's view of which tags an instrument used).</summary>
    public IEnumerable<IReadOnlyDictionary<string, string>> LabelsOf(string name) => series.Where(s => s.Name == name).Select(s => s.Labels);

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>\S+)(\s+\d+)?$""")]
    private static partial Regex SeriesLine();

    [GeneratedRegex("""(?<key>[a-zA-Z_][a-zA-Z0-9_]*)="(?<value>(\\.|[^"\\])*)"(,|$)""")]
    private static partial Regex LabelPair();
}
