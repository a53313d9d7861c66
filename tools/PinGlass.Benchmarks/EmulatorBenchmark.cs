using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using PinGlass.ReplicateEmulator;

namespace PinGlass.Benchmarks;

/// <summary>
/// <c>emulator [--url URL --token T] [--counts 23,500] [--time-scale 100] [--width 896 --height 1152 --format webp]</c>: runs concurrent predictions time-scaled and
/// prints what the emulator itself adds per prediction beyond the modelled latency. With --url, the emulator must run on
/// this machine (it calls the benchmark's webhook on 127.0.0.1) with the same time scale.
/// </summary>
public static class EmulatorBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var options = Parse(args);
        var counts = options.GetValueOrDefault("counts", "23,500").Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray();
        var timeScale = double.Parse(options.GetValueOrDefault("time-scale", "100"), CultureInfo.InvariantCulture);
        var token = options.GetValueOrDefault("token", "r8_pinglass_emulator_local_token");

        await using var inProcess = options.TryGetValue("url", out var url) ? null : await StartInProcessAsync(timeScale, token);
        var baseUrl = new Uri((url ?? inProcess!.Urls.First()).TrimEnd('/') + "/");
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { BaseAddress = baseUrl, Timeout = TimeSpan.FromMinutes(5) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        await using var load = await EmulatorLoad.StartAsync();
        var face = await EmulatorLoad.UploadFaceAsync(client, Path.Combine(AppContext.BaseDirectory, "astronaut.png"), CancellationToken.None);
        // By default flux-pulid as PinGlass calls it: the schema's default 896×1152 webp, one image.
        var width = int.Parse(options.GetValueOrDefault("width", "896"), CultureInfo.InvariantCulture);
        var height = int.Parse(options.GetValueOrDefault("height", "1152"), CultureInfo.InvariantCulture);
        var format = options.GetValueOrDefault("format", "webp");
        var input = new { main_face_image = face, prompt = "studio headshot, warm light, vignette", width, height, output_format = format };
        Console.WriteLine($"Replicate emulator benchmark: {(inProcess is null ? baseUrl : "in-process")}, time scale {timeScale}×, " +
                          $"{Environment.ProcessorCount} cores, flux-pulid {width}×{height} {format}, 1 image a prediction");
        // Warm-up: enough predictions for the JIT to reach its optimised tier on the hot paths.
        await load.RunAsync(client, 40, input, timeScale, CancellationToken.None);

        var failed = false;
        foreach (var count in counts)
        {
            GC.Collect();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var allocated = GC.GetTotalAllocatedBytes(precise: true);
            var result = await load.RunAsync(client, count, input, timeScale, CancellationToken.None);
            var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / count;
            var allocatedKb = (GC.GetTotalAllocatedBytes(precise: true) - allocated) / 1024.0 / count;
            Print(count, result, cpuMs, allocatedKb, inProcess is not null);
            failed |= result.Errors.Count > 0 || result.Predictions.Any(p => p.Status != "succeeded");
        }

        return failed ? 1 : 0;
    }

    private static void Print(int count, LoadResult result, double cpuMs, double allocatedKb, bool inProcess)
    {
        var ok = result.Predictions.Count(p => p.Status == "succeeded");
        Console.WriteLine();
        Console.WriteLine($"{count} concurrent predictions: {ok} succeeded, {result.Predictions.Count - ok} other, {result.Errors.Count} errors, " +
                          $"run took {result.Elapsed.TotalSeconds:0.00} s");
        foreach (var error in result.Errors.Take(3))
        {
            Console.WriteLine($"  error: {error}");
        }

        if (result.Predictions.Count == 0)
        {
            return;
        }

        Console.WriteLine($"  modelled latency (total_time / scale)  {Stats(result.Predictions.Select(p => p.Modelled))}");
        Console.WriteLine($"  emulator overhead (server clock)       {Stats(result.Predictions.Select(p => p.ServerOverhead))}");
        Console.WriteLine($"  client-observed overhead (HTTP, hook) {Stats(result.Predictions.Select(p => p.ClientOverhead))}");
        var scope = inProcess ? "process (emulator + load client)" : "load client only";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  CPU per prediction {cpuMs:0.0} ms, allocations per prediction {allocatedKb:0} KB ({scope})"));
    }

    private static string Stats(IEnumerable<TimeSpan> values)
    {
        var sorted = values.Select(v => v.TotalMilliseconds).Order().ToArray();
        double At(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        return string.Create(CultureInfo.InvariantCulture, $"p50 {At(0.5),7:0.0} ms  p95 {At(0.95),7:0.0} ms  max {sorted[^1],7:0.0} ms");
    }

    private static async Task<WebApplication> StartInProcessAsync(double timeScale, string token) =>
        (await EmulatorApp.StartOnLoopbackAsync(new Dictionary<string, string?>
        {
            ["ReplicateEmulator:TimeScale"] = timeScale.ToString(CultureInfo.InvariantCulture),
            ["ReplicateEmulator:ApiToken"] = token,
            ["ReplicateEmulator:CreateRateLimitPerMinute"] = "100000",
            ["ReplicateEmulator:RateLimitPerMinute"] = "100000",
        })).App;

    private static Dictionary<string, string> Parse(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            options[args[i].TrimStart('-')] = args[i + 1];
        }

        return options;
    }
}
