using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Npgsql;
using PinGlass.AppHost;
using PinGlass.Fixtures;
using PinGlass.Platform;

namespace PinGlass.Pipeline.Benchmark;

/// <summary>
/// Many people generating at once (#18 items 1–3): <c>--generations</c> concurrent 23-portrait generations against the create-rate limit
/// (600 a minute, shared by the Jobs replicas), for each Jobs replica count. Prints, and writes as JSON and a chart: creates a minute
/// as a share of the limit, generation times, fairness, PostgreSQL connections, transactions and lock waits per portrait, the
/// services' CPU per portrait and peak memory.
/// </summary>
public static class Saturation
{
    /// <summary>PinGlass's create-rate limit (Pipeline:CreateRateLimit:PerMinute), Replicate's own.</summary>
    private const double CreatesPerMinute = 600;

    private const int Portraits = 23;

    public sealed record Options(int Generations, IReadOnlyList<int> Replicas, double TimeScale, string Out)
    {
        public static Options? Parse(string[] args)
        {
            var options = new Options(100, [1, 2, 4], 20, "artifacts/benchmarks");
            for (var i = 0; i < args.Length; i += 2)
            {
                var value = i + 1 < args.Length ? args[i + 1] : null;
                options = (args[i], value) switch
                {
                    ("--generations", _) when int.TryParse(value, out var n) && n is > 0 and <= 1000 => options with { Generations = n },
                    ("--replicas", { } list) when list.Split(',').All(r => int.TryParse(r, out var n) && n is > 0 and <= 8) =>
                        options with { Replicas = [.. list.Split(',').Select(int.Parse)] },
                    ("--time-scale", _) when double.TryParse(value, CultureInfo.InvariantCulture, out var s) && s > 0 => options with { TimeScale = s },
                    ("--out", { Length: > 0 } folder) => options with { Out = folder },
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

    /// <summary>One replica count's run, every figure as printed.</summary>
    /// <param name="CreatesPerMinute">Creates in the busiest minute (the mean when the run was shorter than a minute).</param>
    /// <param name="MeanCreatesPerMinute">Creates a minute from the first create to the last.</param>
    public sealed record Result(int Replicas, int Generations, int Completed, int Failed, int Predictions, double CreateWindowSeconds,
        double CreatesPerMinute, double MeanCreatesPerMinute, double ShareOfLimit, double P50Seconds, double P95Seconds, double MaxSeconds, double FairShareSeconds,
        double Fairness, int MaxConnections, double TransactionsPerPortrait, int MaxLockWaits, double CpuMsPerPortrait,
        IReadOnlyDictionary<string, double> PeakMemoryMb, IReadOnlyList<(double Seconds, int InFlight)> InFlight);

    public static async Task<int> RunAsync(Options options, CancellationToken cancellationToken)
    {
        Console.WriteLine($"Saturation: {options.Generations} generations of {Portraits} portraits at once, emulator time scale {options.TimeScale}, "
            + $"create limit {CreatesPerMinute}/min (wall), Jobs replicas {string.Join(", ", options.Replicas)}; {Environment.ProcessorCount} cores");
        var results = new List<Result>();
        foreach (var replicas in options.Replicas)
        {
            Console.WriteLine($"Starting the AppHost with {replicas} Jobs replica(s)...");
            await using var bench = await BenchmarkApp.StartAsync(options.TimeScale, cancellationToken, replicas, facesCache: true, crowd: true);
            var result = await MeasureAsync(bench.App, replicas, options.Generations, cancellationToken);
            results.Add(result);
            Print([result]);
            await WriteAsync(options, results, cancellationToken); // what was measured is kept if a later run fails
        }

        Console.WriteLine();
        Print(results);
        return results.All(r => r.Completed == r.Generations) ? 0 : 1;
    }

    private static async Task WriteAsync(Options options, IReadOnlyList<Result> results, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(options.Out);
        var json = Path.Combine(options.Out, "saturation.json");
        await File.WriteAllTextAsync(json, JsonSerializer.Serialize(results.Select(r => r with { InFlight = [] }),
            new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true }), cancellationToken);
        var chart = Path.Combine(options.Out, "saturation-in-flight.png");
        Charts.InFlight(chart, $"{options.Generations} generations at once: predictions in flight (emulator at {options.TimeScale}× time)",
            results.Select(r => ($"{r.Replicas} Jobs replica(s)", r.InFlight)).ToList());
        Console.WriteLine($"Wrote {json} and {chart}");
    }

    private static void Print(IReadOnlyList<Result> results)
    {
        Console.WriteLine($"{"Replicas",8} {"Done",7} {"Busiest min",11} {"Of limit",8} {"Mean/min",8} {"p50 s",7} {"p95 s",7} {"max s",7} {"Fair s",7} {"Jain",5} "
            + $"{"PG conns",8} {"Tx/portrait",11} {"Lock waits",10} {"CPU ms/portrait",15}  Peak MB");
        foreach (var r in results)
        {
            Console.WriteLine($"{r.Replicas,8} {$"{r.Completed}/{r.Generations}",7} {r.CreatesPerMinute,11:F0} {r.ShareOfLimit,8:P0} {r.MeanCreatesPerMinute,8:F0} {r.P50Seconds,7:F0} "
                + $"{r.P95Seconds,7:F0} {r.MaxSeconds,7:F0} {r.FairShareSeconds,7:F0} {r.Fairness,5:F2} {r.MaxConnections,8} {r.TransactionsPerPortrait,11:F1} "
                + $"{r.MaxLockWaits,10} {r.CpuMsPerPortrait,15:F1}  {string.Join(", ", r.PeakMemoryMb.Select(m => $"{m.Key} {m.Value:F0}"))}");
        }
    }

    private static async Task<Result> MeasureAsync(DistributedApplication app, int replicas, int count, CancellationToken cancellationToken)
    {
        using var api = app.CreateHttpClient(ResourceNames.Api).ActingFor(user: null); // each request names its own person
        api.Timeout = TimeSpan.FromMinutes(5);
        using var emulator = app.CreateHttpClient(ResourceNames.Replicate);
        emulator.DefaultRequestHeaders.Authorization = new("Bearer", ReplicateEndpoint.EmulatorToken);
        var connectionString = await app.GetConnectionStringAsync(ResourceNames.Database, cancellationToken)
            ?? throw new InvalidOperationException("No connection string for the database.");
        await using var database = NpgsqlDataSource.Create(connectionString);
        var photo = Samples.ReferenceUpload().Take(1).ToList();

        // flux-pulid's first prediction after idle boots cold on the emulator: not what is measured.
        await WaitAllAsync(api, [await StartAsync(api, "warm-up", photo, [("styles", "professional-headshot")], cancellationToken)], cancellationToken);

        var services = ServiceProcesses.Find(connectionString);
        var cpuBefore = services.CpuSeconds();
        var transactionsBefore = await TransactionsAsync(database, cancellationToken);
        using var sampling = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var sampler = SampleAsync(database, sampling.Token);

        // Everyone at once, each a person of their own (one may run two generations at a time), as a client app sends them: an upload
        // refused for the moment is sent again after Retry-After.
        var ids = await Task.WhenAll(Enumerable.Range(0, count).Select(i => StartAsync(api, $"person-{i}", photo, [], cancellationToken)));
        var ended = await WaitAllAsync(api, ids, cancellationToken);

        await sampling.CancelAsync();
        var (maxConnections, maxLockWaits) = await sampler;
        var portraits = ended.Sum(g => g.GetProperty("portraits").GetArrayLength());
        var cpu = services.CpuSeconds() - cpuBefore;
        var transactions = await TransactionsAsync(database, cancellationToken) - transactionsBefore;

        var spans = new List<(DateTimeOffset Created, DateTimeOffset Completed)>();
        foreach (var predictionId in ended.SelectMany(g => g.GetProperty("portraits").EnumerateArray())
                     .SelectMany(p => p.GetProperty("attempts").EnumerateArray()).Select(a => a.GetProperty("predictionId").GetString()).OfType<string>())
        {
            var prediction = await ReadPredictionAsync(emulator, predictionId, cancellationToken);
            if (prediction.TryGetProperty("completed_at", out var completed) && completed.ValueKind == JsonValueKind.String)
            {
                spans.Add((prediction.GetProperty("created_at").GetDateTimeOffset(), completed.GetDateTimeOffset()));
            }
        }

        var first = spans.Min(s => s.Created);
        var window = (spans.Max(s => s.Created) - first).TotalSeconds;
        var durations = ended.Where(g => g.GetProperty("completedAt").ValueKind == JsonValueKind.String)
            .Select(g => (g.GetProperty("completedAt").GetDateTimeOffset() - g.GetProperty("createdAt").GetDateTimeOffset()).TotalSeconds).Order().ToList();
        // While portraits wait for the limit, creates run at its pace: the busiest minute says how close to it they come, the mean
        // over first to last create how much of the run they did.
        var creates = spans.Select(s => s.Created).Order().ToList();
        var busiestMinute = creates.Select((t, i) => creates.Skip(i).TakeWhile(c => c < t + TimeSpan.FromMinutes(1)).Count()).DefaultIfEmpty(0).Max();
        var mean = window > 0 ? (spans.Count - 1) / window * 60 : double.NaN;
        var perMinute = window >= 60 ? busiestMinute : mean;
        return new Result(replicas, count, ended.Count(g => g.GetProperty("status").GetString() == "completed"),
            ended.Count(g => g.GetProperty("status").GetString() is "failed" or "completed_with_failures"), spans.Count, window, perMinute, mean,
            perMinute / CreatesPerMinute, Percentile(durations, 0.50), Percentile(durations, 0.95), durations.Count > 0 ? durations[^1] : double.NaN,
            count * Portraits / CreatesPerMinute * 60, Jain(durations), maxConnections, (double)transactions / portraits, maxLockWaits,
            cpu * 1000 / portraits, services.PeakMemoryMb(), InFlight(spans, first));
    }

    /// <summary>A prediction from the emulator, waiting out its 3000-a-minute limit on reads as Replicate's asks (the pipeline reads too).</summary>
    private static async Task<JsonElement> ReadPredictionAsync(HttpClient emulator, string predictionId, CancellationToken cancellationToken)
    {
        while (true)
        {
            using var response = await emulator.GetAsync($"/v1/predictions/{predictionId}", cancellationToken);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
                continue;
            }

            response.EnsureSuccessStatusCode();
            return await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        }
    }

    private static async Task<(Guid Id, string User)> StartAsync(HttpClient api, string user, IReadOnlyList<PinGlass.Photos.Intake.UploadedPhoto> photos,
        IReadOnlyList<(string, string)> fields, CancellationToken cancellationToken)
    {
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/generations") { Content = GenerationForm.Create(photos, fields) };
            request.Headers.Add("X-PinGlass-User", user);
            using var response = await api.SendAsync(request, cancellationToken);
            if (response.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.TooManyRequests)
            {
                await Task.Delay(response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(2), cancellationToken);
                continue;
            }

            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            return response.StatusCode == HttpStatusCode.Accepted
                ? (JsonDocument.Parse(body).RootElement.GetProperty("id").GetGuid(), user)
                : throw new InvalidOperationException($"POST /v1/generations answered {(int)response.StatusCode}: {body}");
        }
    }

    private static async Task<List<JsonElement>> WaitAllAsync(HttpClient api, IReadOnlyList<(Guid Id, string User)> ids, CancellationToken cancellationToken)
    {
        var ended = new Dictionary<Guid, JsonElement>();
        var deadline = Stopwatch.StartNew();
        while (ended.Count < ids.Count && deadline.Elapsed < TimeSpan.FromMinutes(60))
        {
            foreach (var (id, user) in ids.Where(i => !ended.ContainsKey(i.Id)))
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/generations/{id}");
                request.Headers.Add("X-PinGlass-User", user);
                using var response = await api.SendAsync(request, cancellationToken);
                if (response.IsSuccessStatusCode && await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken) is var generation
                    && generation.GetProperty("status").GetString() is not ("queued" or "running"))
                {
                    ended[id] = generation;
                }
            }

            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }

        return [.. ended.Values];
    }

    /// <summary>The database's most connections and most sessions waiting on a lock, sampled every second.</summary>
    private static async Task<(int Connections, int LockWaits)> SampleAsync(NpgsqlDataSource database, CancellationToken cancellationToken)
    {
        var (connections, lockWaits) = (0, 0);
        try
        {
            while (true)
            {
                await using var command = database.CreateCommand(
                    "SELECT count(*)::int, (count(*) FILTER (WHERE wait_event_type = 'Lock'))::int FROM pg_stat_activity WHERE datname = current_database()");
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                await reader.ReadAsync(cancellationToken);
                (connections, lockWaits) = (Math.Max(connections, reader.GetInt32(0)), Math.Max(lockWaits, reader.GetInt32(1)));
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
            return (connections, lockWaits);
        }
    }

    private static async Task<long> TransactionsAsync(NpgsqlDataSource database, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()");
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Predictions running each second, from the first create on.</summary>
    private static List<(double Seconds, int InFlight)> InFlight(List<(DateTimeOffset Created, DateTimeOffset Completed)> spans, DateTimeOffset first)
    {
        var end = spans.Max(s => s.Completed);
        var points = new List<(double, int)>();
        for (var t = first; t <= end; t += TimeSpan.FromSeconds(1))
        {
            points.Add(((t - first).TotalSeconds, spans.Count(s => s.Created <= t && s.Completed > t)));
        }

        return points;
    }

    public static double Percentile(IReadOnlyList<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    /// <summary>Jain's fairness index of the generations' times: 1 when all took as long, 1/n when one took it all.</summary>
    public static double Jain(IReadOnlyList<double> values) =>
        values.Count == 0 ? double.NaN : Math.Pow(values.Sum(), 2) / (values.Count * values.Sum(v => v * v));
}
