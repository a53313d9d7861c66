// End-to-end generation benchmark: starts the whole AppHost (local processes, Replicate emulator), runs 23-portrait generations and
// prints each one's time against its slowest prediction, and its estimated cost against what it spent. Usage: dotnet run -c Release --project tools/PinGlass.Pipeline.Benchmark -- --help
using System.Globalization;
using Aspire.Hosting.Testing;
using PinGlass.Platform;
using PinGlass.Fixtures;
using PinGlass.Pipeline.Benchmark;

const double Target = 1.3;
(string, string)[] warmUp = [("styles", "professional-headshot,golden-hour,film-noir")];

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
if (args is ["saturation", .. var saturationArgs])
{
    return await SubcommandAsync(Saturation.Options.Parse(saturationArgs), """
        usage: PinGlass.Pipeline.Benchmark saturation [--generations 100] [--replicas 1,2,4] [--time-scale 20] [--out artifacts/benchmarks]
          For each Jobs replica count, starts the AppHost (generations start on one photo; the faces service keeps its answers), runs a
          warm-up, then uploads --generations 23-portrait generations at once and waits for them all. Prints creates a minute against
          the 600/min limit, generation times (p50, p95, max) against the time all of them need at the limit, Jain's fairness index,
          PostgreSQL connections, transactions per portrait and lock waits, the Api's and Jobs' CPU per portrait and peak memory;
          writes saturation.json and saturation-in-flight.png to --out. Exit code 0 when every generation completed.
        """, Saturation.RunAsync);
}

if (args is ["client", .. var clientArgs])
{
    return await SubcommandAsync(ClientView.Options.Parse(clientArgs), """
        usage: PinGlass.Pipeline.Benchmark client [--runs 3] [--batch-runs 1] [--out artifacts/benchmarks]
          Starts the AppHost with the emulator at Replicate's real latencies, runs a warm-up, then as a client app: --runs fast-default
          generations with 12 phone photos (1920×1440) and with 20 photos of 12 MP (4032×3024), and --batch-runs of the design's
          batch loop with the 12 phone photos. Each is timed from the upload's first byte to the event that says it ended, split into upload,
          photo analysis (until the Api answers), queueing (until the first create on Replicate) and generation, against its
          slowest prediction. Checks the client-view ratio (≤ 1.2), the 12 MP analysis (≤ 5 s) and the batch loop's time over the
          fast default's, medians (≥ 6×); writes client-view.json and client-in-flight.png to --out. Exit code 0 when every generation completed.
        """, ClientView.RunAsync);
}

if (args is ["api", .. var apiArgs])
{
    return await SubcommandAsync(ApiLoad.Options.Parse(apiArgs), """
        usage: PinGlass.Pipeline.Benchmark api [--rate 200] [--seconds 30] [--followers 1000]
          Starts the AppHost (emulator at Replicate's real latencies, the client's request limit lifted), makes a 23-portrait
          generation, then reads it with GET /v1/generations/{id} at --rate a second for --seconds (open loop: each request timed
          from when it was due) and prints p50/p90/p99/max against the 50 ms p99 target; then starts another generation, opens
          --followers event streams on it at once while the reads go on, and prints the time to each stream's first event, the
          delay from the generation's end to each follower's end event, the reads' latencies meanwhile and peak memory.
          Exit code 0 when every request was answered 200 and every follower saw the end.
        """, ApiLoad.RunAsync);
}

if (Options.Parse(args) is not { } options)
{
    Console.Error.WriteLine("""
        usage: PinGlass.Pipeline.Benchmark [--runs 3] [--batch-runs 1] [--time-scale 1] [--failures 0]
          Starts the AppHost in processes mode over a data folder of its own, runs one warm-up generation (not counted), then --runs
          fast-default 23-portrait generations and --batch-runs design-mode ones (3 portraits a batch, 1 s between batches), and prints
          each generation's time against its slowest prediction, and its estimated cost against what it spent. --time-scale 1 is
          Replicate's real latency; 10 runs 10× faster (costs do not change: predict_time is Replicate time). --failures 0.1 makes
          the emulator fail that share of flux-pulid predictions after the warm-up (each then falls back to kontext-pro).
          Exit code 0 when every generation completed, 1 otherwise.
        """);
    return 2;
}

using var cancel = StopOnCtrlC();

Console.WriteLine($"Machine: {Environment.ProcessorCount} cores; emulator time scale {options.TimeScale} (1 = Replicate's real latencies)");
Console.WriteLine("Generation time = completedAt − createdAt of the generation, whose row is written after photo intake and analysis:");
Console.WriteLine("upload and photo analysis are not included. Prediction latency = completed_at − created_at on the emulator.");
Console.WriteLine("Starting the AppHost...");
var results = new List<Measurement>();
var allCompleted = true;
try
{
    await using var bench = await BenchmarkApp.StartAsync(options.TimeScale, cancel.Token);
    using var api = bench.App.CreateHttpClient(ResourceNames.Api).ActingFor();
    api.Timeout = TimeSpan.FromMinutes(5); // photo analysis on a busy machine can outlast the default 100 s
    using var emulator = bench.App.CreateHttpClient(ResourceNames.Replicate);
    var runner = new TimedGenerations(api, emulator, Samples.ReferenceUpload());

    // flux-pulid's first prediction after idle takes a 30–90 s cold boot on the emulator, as on Replicate; that is not what is measured.
    Console.WriteLine("Warm-up: 3 styles, not counted (the emulator models flux-pulid cold boots of 30–90 s after idle)...");
    var warm = await runner.RunAsync("warm-up", warmUp, null, cancel.Token);
    allCompleted &= warm.Completed;
    Console.WriteLine($"  {warm.Status}, {warm.Succeeded}/{warm.Portraits} portraits in {warm.GenerationSeconds:F1} s");

    if (options.Failures > 0)
    {
        Console.WriteLine($"Injecting prediction_failed into {options.Failures:P0} of flux-pulid predictions.");
        using var faults = new StringContent($$"""[{"kind":"prediction_failed","model":"bytedance/flux-pulid","probability":{{options.Failures}}}]""",
            System.Text.Encoding.UTF8, "application/json");
        (await emulator.PutAsync("/_emulator/faults", faults, cancel.Token)).EnsureSuccessStatusCode();
    }

    Console.WriteLine();
    Console.WriteLine($"{"Mode",-8} {"Run",3}  {"Status",-10} {"Portraits",9}  {"Generation s",12}  {"Slowest s",9}  {"Ratio",6}  {"Σ batch slowest s",17}");
    var plan = Enumerable.Range(1, options.Runs).Select(run => (Mode: "fast", Run: run, Fields: Array.Empty<(string, string)>(), BatchSize: (int?)null))
        .Concat(Enumerable.Range(1, options.BatchRuns).Select(run => (Mode: "batch", Run: run, Fields: ClientView.BatchLoop, BatchSize: (int?)3)));
    foreach (var (mode, run, fields, batchSize) in plan)
    {
        var result = await runner.RunAsync(mode, fields, batchSize, cancel.Token);
        results.Add(result);
        allCompleted &= result.Completed;
        Console.WriteLine($"{result.Mode,-8} {run,3}  {result.Status,-10} {$"{result.Succeeded}/{result.Portraits}",9}  " +
            $"{result.GenerationSeconds,12:F1}  {result.SlowestSeconds,9:F1}  {result.Ratio,6:F2}  {(result.BatchSlowestSumSeconds is { } sum ? sum.ToString("F1") : "-"),17}");
    }
}
catch (Exception ex)
{
    Console.Error.WriteLine($"Benchmark stopped: {ex.GetType().Name}: {ex.Message}");
    allCompleted = false;
}

Console.WriteLine();
Console.WriteLine("Cost (USD): the Api's estimate (the design's per-image figure), with the expected retries, and what the generation spent");
Console.WriteLine($"{"Mode",-8} {"Run",3}  {"Estimate",8}  {"+ retries",9}  {"Spent",8}  {"Predictions",11}  {"Failed",6}");
foreach (var (result, run) in results.Select((r, i) => (r, i + 1)))
{
    Console.WriteLine($"{result.Mode,-8} {run,3}  {result.EstimatedCost,8:F4}  {result.EstimatedCostWithRetries,9:F4}  {result.Spent,8:F4}  " +
        $"{$"{result.Predictions}/{result.Portraits}",11}  {result.FailedPredictions,6}");
}

Console.WriteLine();
Console.WriteLine("Overhead (s): generation row → first create, first → last create, last prediction's end → generation's end");
Console.WriteLine($"{"Mode",-8} {"Run",3}  {"To 1st create",13}  {"Create spread",13}  {"After last result",17}");
foreach (var (result, run) in results.Select((r, i) => (r, i + 1)))
{
    Console.WriteLine($"{result.Mode,-8} {run,3}  {result.Overhead.ToFirstCreateSeconds,13:F1}  {result.Overhead.CreateSpreadSeconds,13:F1}  " +
        $"{result.Overhead.AfterLastResultSeconds,17:F1}");
}

Console.WriteLine();
foreach (var mode in results.GroupBy(r => r.Mode))
{
    var ratios = mode.Select(r => r.Ratio).Order().ToList();
    var median = ratios.Count % 2 == 1 ? ratios[ratios.Count / 2] : (ratios[ratios.Count / 2 - 1] + ratios[ratios.Count / 2]) / 2;
    var target = mode.Key == "fast" ? $" (target ≤ {Target:F1}×: {(ratios.Max() <= Target ? "met" : "not met")})" : "";
    Console.WriteLine($"{mode.Key,-8} {ratios.Count} run(s): median ratio {median:F2}, max {ratios.Max():F2}{target}; " +
        $"spent {mode.Min(r => r.Spent):F4}–{mode.Max(r => r.Spent):F4} USD (mean {mode.Average(r => r.Spent):F4})");
}

Console.WriteLine($"Load average at the end: {File.ReadAllText("/proc/loadavg").Split(' ')[0]} on {Environment.ProcessorCount} cores");
return allCompleted ? 0 : 1;

// A subcommand: its usage (exit code 2) when its options do not parse, else its run, which Ctrl+C stops.
static async Task<int> SubcommandAsync<T>(T? options, string usage, Func<T, CancellationToken, Task<int>> run)
    where T : class
{
    if (options is null)
    {
        Console.Error.WriteLine(usage);
        return 2;
    }

    using var stop = StopOnCtrlC();
    return await run(options, stop.Token);
}

// Ctrl+C stops the benchmark but still lets the AppHost stop its servers and the data folder go.
static CancellationTokenSource StopOnCtrlC()
{
    var stop = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) =>
    {
        e.Cancel = true;
        stop.Cancel();
    };
    return stop;
}

/// <summary>The command line: how many generations of each mode, how much faster than Replicate the emulator runs, and its failure share.</summary>
internal sealed record Options(int Runs, int BatchRuns, double TimeScale, double Failures)
{
    public static Options? Parse(string[] args)
    {
        var options = new Options(3, 1, 1, 0);
        for (var i = 0; i < args.Length; i += 2)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            options = (args[i], value) switch
            {
                ("--runs", _) when int.TryParse(value, out var n) && n >= 0 => options with { Runs = n },
                ("--batch-runs", _) when int.TryParse(value, out var n) && n >= 0 => options with { BatchRuns = n },
                ("--time-scale", _) when double.TryParse(value, CultureInfo.InvariantCulture, out var s) && s > 0 => options with { TimeScale = s },
                ("--failures", _) when double.TryParse(value, CultureInfo.InvariantCulture, out var f) && f is >= 0 and <= 1 => options with { Failures = f },
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
