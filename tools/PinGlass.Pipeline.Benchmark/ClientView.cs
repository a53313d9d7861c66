using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting.Testing;
using PinGlass.AppHost;
using PinGlass.Cli.Api;
using PinGlass.Fixtures;
using PinGlass.Photos.Intake;
using PinGlass.Platform;

namespace PinGlass.Pipeline.Benchmark;

/// <summary>
/// A person's wait as their app sees it, from the first byte of the upload to the event that says the last portrait is done, split
/// into upload, photo analysis (the Api's answer), queueing (to the first create on Replicate) and generation; for phone-size photos
/// and for 12 MP ones, and the design's batch loop beside the fast default in the same run.
/// </summary>
public static class ClientView
{
    /// <summary>The design's batch loop: 3 portraits a batch, 1 s between batches.</summary>
    public static readonly (string Name, string Value)[] BatchLoop = [("batchSize", "3"), ("batchDelayMs", "1000")];

    private const double RatioTarget = 1.2, AnalysisTarget = 5, SpeedupTarget = 6;

    public sealed record Options(int Runs, int BatchRuns, string Out)
    {
        public static Options? Parse(string[] args)
        {
            var options = new Options(3, 1, "artifacts/benchmarks");
            for (var i = 0; i < args.Length; i += 2)
            {
                var value = i + 1 < args.Length ? args[i + 1] : null;
                options = (args[i], value) switch
                {
                    ("--runs", _) when int.TryParse(value, out var n) && n > 0 => options with { Runs = n },
                    ("--batch-runs", _) when int.TryParse(value, out var n) && n > 0 => options with { BatchRuns = n },
                    ("--out", { Length: > 0 }) => options with { Out = value },
                    _ => null,
                };
                if (options is null)
                {
                    return null;
                }
            }

            return options;
        }
    }

    /// <summary>One generation as its client saw it; seconds on the client's clock, predictions' times on the emulator's (same machine).</summary>
    public sealed record Wait(string Photos, string Mode, int Run, string Status, int Succeeded, double UploadSeconds, double AnalysisSeconds,
        double QueueSeconds, double GenerationSeconds, double SlowestSeconds)
    {
        public double TotalSeconds => UploadSeconds + AnalysisSeconds + QueueSeconds + GenerationSeconds;

        public double Ratio => TotalSeconds / SlowestSeconds;

        public IReadOnlyList<(double Seconds, int InFlight)> InFlight { get; init; } = [];
    }

    public static async Task<int> RunAsync(Options options, CancellationToken cancellationToken)
    {
        (string Name, IReadOnlyList<UploadedPhoto> Files)[] sets =
        [
            ("12 phone photos", Samples.PhoneRoll(12, 1920, 1440, noisy: true)),
            ("20 × 12 MP", Samples.PhoneRoll(20, 4032, 3024, noisy: true)),
        ];
        foreach (var (name, files) in sets)
        {
            Console.WriteLine($"{name}: {files.Count} JPEGs, {files.Sum(f => f.Content.Length) / 1e6:F1} MB");
        }

        Console.WriteLine("Starting the AppHost (emulator at Replicate's real latencies)...");
        await using var bench = await BenchmarkApp.StartAsync(1, cancellationToken);
        using var api = bench.App.CreateHttpClient(ResourceNames.Api);
        api.Timeout = TimeSpan.FromMinutes(5);
        using var emulator = bench.App.CreateHttpClient(ResourceNames.Replicate);
        emulator.DefaultRequestHeaders.Authorization = new("Bearer", ReplicateEndpoint.EmulatorToken);

        // flux-pulid's first prediction after idle boots cold on the emulator, as on Replicate: not what is measured.
        Console.WriteLine("Warm-up (not counted)...");
        await MeasureAsync(api, emulator, "warm-up", sets[0].Files, "fast", 0, [("styles", "professional-headshot,golden-hour,film-noir")], cancellationToken);

        var plan = sets.SelectMany(set => Enumerable.Range(1, options.Runs).Select(run => (set.Name, set.Files, Mode: "fast", Run: run, Fields: Array.Empty<(string, string)>())))
            .Concat(Enumerable.Range(1, options.BatchRuns).Select(run => (sets[0].Name, sets[0].Files, Mode: "batch", Run: run, Fields: BatchLoop)));
        var waits = new List<Wait>();
        Console.WriteLine();
        Console.WriteLine($"{"Photos",-16} {"Mode",-5} {"Run",3}  {"Status",-9} {"Upload s",8} {"Analysis s",10} {"Queue s",7} {"Generation s",12} {"Total s",8} {"Slowest s",9} {"Ratio",6}");
        foreach (var (photos, files, mode, run, fields) in plan)
        {
            var wait = await MeasureAsync(api, emulator, photos, files, mode, run, fields, cancellationToken);
            waits.Add(wait);
            Console.WriteLine($"{wait.Photos,-16} {wait.Mode,-5} {wait.Run,3}  {wait.Status,-9} {wait.UploadSeconds,8:F2} {wait.AnalysisSeconds,10:F2} {wait.QueueSeconds,7:F2} " +
                $"{wait.GenerationSeconds,12:F1} {wait.TotalSeconds,8:F1} {wait.SlowestSeconds,9:F1} {wait.Ratio,6:F2}");
        }

        Console.WriteLine();
        var phoneFast = waits.Where(w => w.Photos == sets[0].Name && w.Mode == "fast").ToList();
        var fast = phoneFast.OrderBy(w => w.TotalSeconds).ElementAt(phoneFast.Count / 2);
        var batches = waits.Where(w => w.Mode == "batch").ToList();
        var batch = batches.OrderBy(w => w.TotalSeconds).ElementAt(batches.Count / 2); // the charts show median runs (the upper of an even count)
        var ratio = Median(phoneFast.Select(w => w.Ratio));
        var analysis = Median(waits.Where(w => w.Photos == sets[1].Name).Select(w => w.AnalysisSeconds));
        var speedup = Median(batches.Select(w => w.TotalSeconds)) / Median(phoneFast.Select(w => w.TotalSeconds));
        Console.WriteLine($"Client-view ratio, {sets[0].Name}, fast: median {ratio:F2} (target ≤ {RatioTarget}: {Verdict(ratio <= RatioTarget)})");
        Console.WriteLine($"Photo analysis of {sets[1].Name}: median {analysis:F2} s (target ≤ {AnalysisTarget} s: {Verdict(analysis <= AnalysisTarget)})");
        Console.WriteLine($"The design's batch loop against the fast default, {sets[0].Name}, medians: {Median(batches.Select(w => w.TotalSeconds)):F1} s against {Median(phoneFast.Select(w => w.TotalSeconds)):F1} s, " +
            $"{speedup:F1}× (target ≥ {SpeedupTarget}×: {Verdict(speedup >= SpeedupTarget)})");
        Console.WriteLine($"Load average at the end: {File.ReadAllText("/proc/loadavg").Split(' ')[0]} on {Environment.ProcessorCount} cores");

        Directory.CreateDirectory(options.Out);
        await File.WriteAllTextAsync(Path.Combine(options.Out, "client-view.json"), JsonSerializer.Serialize(
            waits.Select(w => new { w.Photos, w.Mode, w.Run, w.Status, w.Succeeded, w.UploadSeconds, w.AnalysisSeconds, w.QueueSeconds, w.GenerationSeconds, w.TotalSeconds, w.SlowestSeconds, w.Ratio }),
            new JsonSerializerOptions { WriteIndented = true }), cancellationToken);
        var chart = Path.Combine(options.Out, "client-in-flight.png");
        Charts.InFlight(chart, $"One generation, {sets[0].Name}: predictions in flight (emulator at Replicate's latencies)", "seconds from the upload's start",
            [($"fast default ({fast.TotalSeconds:F0} s)", fast.InFlight), ($"the design's batch loop ({batch.TotalSeconds:F0} s)", batch.InFlight)]);
        Console.WriteLine($"Wrote {Path.Combine(options.Out, "client-view.json")} and {chart}");
        return waits.All(w => w.Status == "completed") ? 0 : 1;
    }

    private static async Task<Wait> MeasureAsync(HttpClient api, HttpClient emulator, string photos, IReadOnlyList<UploadedPhoto> files, string mode, int run,
        IReadOnlyList<(string Name, string Value)> fields, CancellationToken cancellationToken)
    {
        var user = $"client-view-{Guid.NewGuid():N}";
        using var body = new TimedContent(GenerationForm.Create(files, fields));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/generations") { Content = body };
        request.Headers.Authorization = new("Bearer", ApiClients.DemoKey);
        request.Headers.Add("X-PinGlass-User", user);

        var startedAt = DateTimeOffset.UtcNow;
        var started = Stopwatch.GetTimestamp();
        using var response = await api.SendAsync(request, cancellationToken);
        var answered = Stopwatch.GetElapsedTime(started).TotalSeconds;
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            throw new InvalidOperationException($"POST /v1/generations answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }

        var uploadSeconds = Stopwatch.GetElapsedTime(started, body.SentAt ?? throw new InvalidOperationException("The upload was never sent.")).TotalSeconds;
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("id").GetGuid();

        // Followed as the command line follows it: the event that says the generation ended is when the person sees it done.
        using var client = PinGlassApiClient.Create(api.BaseAddress!, ApiClients.DemoKey, user, TimeSpan.FromMinutes(5));
        await foreach (var _ in client.FollowAsync(id, cancellationToken))
        {
        }

        var seen = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var generation = await client.GetRawAsync(id, cancellationToken);
        var spans = new List<(DateTimeOffset Created, DateTimeOffset Completed)>();
        foreach (var predictionId in generation.GetProperty("portraits").EnumerateArray().SelectMany(p => p.GetProperty("attempts").EnumerateArray())
                     .Select(a => a.GetProperty("predictionId").GetString()).OfType<string>())
        {
            var prediction = await emulator.GetFromJsonAsync<JsonElement>($"/v1/predictions/{predictionId}", cancellationToken);
            if (prediction.TryGetProperty("completed_at", out var completed) && completed.ValueKind == JsonValueKind.String)
            {
                spans.Add((prediction.GetProperty("created_at").GetDateTimeOffset(), completed.GetDateTimeOffset()));
            }
        }

        var firstCreate = spans.Count > 0 ? (spans.Min(s => s.Created) - startedAt).TotalSeconds : double.NaN;
        return new Wait(photos, mode, run, generation.GetProperty("status").GetString() ?? "", generation.GetProperty("portraits").EnumerateArray()
                .Count(p => p.GetProperty("status").GetString() == "succeeded"), uploadSeconds, answered - uploadSeconds, firstCreate - answered, seen - firstCreate,
            spans.Count > 0 ? spans.Max(s => (s.Completed - s.Created).TotalSeconds) : double.NaN)
        {
            InFlight = Charts.InFlightSeries(spans, startedAt, TimeSpan.FromSeconds(0.5)),
        };
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string Verdict(bool met) => met ? "met" : "not met";

    /// <summary>The request body, noting when its last byte was handed to the connection: the end of the upload.</summary>
    private sealed class TimedContent : HttpContent
    {
        private readonly HttpContent inner;

        public TimedContent(HttpContent inner)
        {
            this.inner = inner;
            foreach (var header in inner.Headers)
            {
                Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        /// <summary>Stopwatch ticks at the end of the upload.</summary>
        public long? SentAt { get; private set; }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await inner.CopyToAsync(stream, context);
            await stream.FlushAsync();
            SentAt = Stopwatch.GetTimestamp();
        }

        protected override bool TryComputeLength(out long length)
        {
            length = inner.Headers.ContentLength ?? -1;
            return length >= 0;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
