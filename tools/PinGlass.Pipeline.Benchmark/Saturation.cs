using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Npgsql;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Processing;
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

    private const double OrchestrationTarget = 5; // ms of Api + Jobs CPU a portrait

    private static readonly TimeSpan IdleSample = TimeSpan.FromSeconds(30);

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
        IReadOnlyDictionary<string, double> PeakMemoryMb, IReadOnlyList<(double Seconds, int InFlight)> InFlight)
    {
        /// <summary>What the services spend idle (Hangfire's polling, health checks, telemetry) over the run's length, a portrait.</summary>
        public double IdleCpuMsPerPortrait { get; init; }

        /// <summary>Idle transactions (Hangfire's polling) over the run's length, a portrait.</summary>
        public double IdleTransactionsPerPortrait { get; init; }

        /// <summary>Rows inserted, updated and deleted a portrait, per table (PostgreSQL's statistics), the busiest first.</summary>
        public IReadOnlyDictionary<string, double> RowWritesPerPortrait { get; init; } = new Dictionary<string, double>();

        /// <summary>Decoding each output for the identity gate and copying out its pixels, a portrait.</summary>
        public double ImageCpuMsPerPortrait { get; init; }

        /// <summary>The rest: each portrait's own work, image decoding and the idle services excluded.</summary>
        public double OrchestrationCpuMsPerPortrait => CpuMsPerPortrait - IdleCpuMsPerPortrait - ImageCpuMsPerPortrait;
    }

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
            "seconds from the first create", results.Select(r => ($"{r.Replicas} Jobs replica(s)", r.InFlight)).ToList());
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

        Console.WriteLine($"{"Replicas",8} {"CPU ms/portrait",15} {"of it idle",10} {"images",7} {"orchestration",13}  {"Tx/portrait",11} {"of it idle",10}");
        foreach (var r in results)
        {
            Console.WriteLine($"{r.Replicas,8} {r.CpuMsPerPortrait,15:F1} {r.IdleCpuMsPerPortrait,10:F1} {r.ImageCpuMsPerPortrait,7:F1} {r.OrchestrationCpuMsPerPortrait,13:F1}  "
                + $"{r.TransactionsPerPortrait,11:F1} {r.IdleTransactionsPerPortrait,10:F1}");
        }

        foreach (var r in results)
        {
            Console.WriteLine($"{r.Replicas} replica(s), rows written a portrait, busiest tables: {string.Join(", ", r.RowWritesPerPortrait.Take(8).Select(w => $"{w.Key} {w.Value:F1}"))}; "
                + $"all tables {r.RowWritesPerPortrait.Values.Sum():F1}");
        }

        Console.WriteLine($"(orchestration: the Api's and Jobs' CPU a portrait less what they spend idle over as long and less the output images' decoding; target ≤ {OrchestrationTarget} ms)");
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

        // What the services spend with nothing to do (Hangfire's workers polling, health checks, telemetry) is paid whatever the load.
        var (idleCpu, idleTransactions, idleStarted) = (services.CpuSeconds(), await TransactionsAsync(database, cancellationToken), Stopwatch.GetTimestamp());
        await Task.Delay(IdleSample, cancellationToken);
        var idleSeconds = Stopwatch.GetElapsedTime(idleStarted).TotalSeconds;
        var idleCpuPerSecond = (services.CpuSeconds() - idleCpu) / idleSeconds;
        var idleTransactionsPerSecond = (await TransactionsAsync(database, cancellationToken) - idleTransactions) / idleSeconds;

        var cpuBefore = services.CpuSeconds();
        var transactionsBefore = await TransactionsAsync(database, cancellationToken);
        var writesBefore = await RowWritesAsync(database, cancellationToken);
        var runStarted = Stopwatch.GetTimestamp();
        using var sampling = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var sampler = SampleAsync(database, sampling.Token);

        // Everyone at once, each a person of their own (one may run two generations at a time), as a client app sends them: an upload
        // refused for the moment is sent again after Retry-After.
        var ids = await Task.WhenAll(Enumerable.Range(0, count).Select(i => StartAsync(api, $"person-{i}", photo, [], cancellationToken)));
        // Waited for in the database, then each generation read once through the Api: a hundred status reads a second would be
        // counted in the Api's CPU and transactions a portrait (about 3 ms of CPU each, the api benchmark measures).
        await WaitEndedAsync(database, ids, cancellationToken);
        var ended = await WaitAllAsync(api, ids, cancellationToken);

        await sampling.CancelAsync();
        var (maxConnections, maxLockWaits) = await sampler;
        var portraits = ended.Sum(g => g.GetProperty("portraits").GetArrayLength());
        var cpu = services.CpuSeconds() - cpuBefore;
        var transactions = await TransactionsAsync(database, cancellationToken) - transactionsBefore;
        var runSeconds = Stopwatch.GetElapsedTime(runStarted).TotalSeconds;
        var writesAfter = await RowWritesAsync(database, cancellationToken);
        var imageMs = await ImageCpuMsAsync(api, ids.ToDictionary(i => i.Id, i => i.User), ended, cancellationToken);

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

        // Whatever did not end completed says why, so a failure for lack of capacity can be told from any other.
        foreach (var generation in ended.Where(g => g.GetProperty("status").GetString() != "completed"))
        {
            var failed = generation.GetProperty("portraits").EnumerateArray().Where(p => p.GetProperty("status").GetString() != "succeeded")
                .Select(p => $"portrait {p.GetProperty("index").GetInt32()} {p.GetProperty("status").GetString()}: {p.GetProperty("error")}");
            // Each attempt that failed anywhere in the generation, and why: a fallback's cause is what says whether capacity was short.
            var attempts = generation.GetProperty("portraits").EnumerateArray().SelectMany(p => p.GetProperty("attempts").EnumerateArray())
                .Where(a => a.GetProperty("status").GetString() != "succeeded")
                .GroupBy(a => $"{a.GetProperty("model").GetString()} {a.GetProperty("status").GetString()}: {a.GetProperty("error")}")
                .Select(g => $"{g.Count()} × {g.Key}");
            Console.WriteLine($"  generation {generation.GetProperty("id").GetGuid()} ended {generation.GetProperty("status").GetString()}: {string.Join("; ", failed)}");
            Console.WriteLine($"    attempts that did not succeed: {string.Join("; ", attempts)}");
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
            cpu * 1000 / portraits, services.PeakMemoryMb(), Charts.InFlightSeries(spans, first, TimeSpan.FromSeconds(1)))
        {
            IdleCpuMsPerPortrait = idleCpuPerSecond * runSeconds * 1000 / portraits,
            IdleTransactionsPerPortrait = idleTransactionsPerSecond * runSeconds / portraits,
            // The identity gate decodes each output of a succeeded prediction once (a failed one has none).
            RowWritesPerPortrait = writesAfter.Select(w => (w.Key, Writes: (w.Value - writesBefore.GetValueOrDefault(w.Key)) / (double)portraits))
                .Where(w => w.Writes > 0).OrderByDescending(w => w.Writes).ToDictionary(w => w.Key, w => Math.Round(w.Writes, 1)),
            ImageCpuMsPerPortrait = imageMs * ended.SelectMany(g => g.GetProperty("portraits").EnumerateArray()).SelectMany(p => p.GetProperty("attempts").EnumerateArray())
                .Count(a => a.GetProperty("status").GetString() == "succeeded") / portraits,
        };
    }

    /// <summary>
    /// Milliseconds to decode one output as the identity gate does (upright, then its pixels copied out for the faces
    /// service), over a few of the run's portraits each decoded several times once warm: the Jobs spend it on every output.
    /// </summary>
    private static async Task<double> ImageCpuMsAsync(HttpClient api, IReadOnlyDictionary<Guid, string> users, IReadOnlyList<JsonElement> ended,
        CancellationToken cancellationToken)
    {
        var images = new List<byte[]>();
        foreach (var (generation, url) in ended.SelectMany(g => g.GetProperty("portraits").EnumerateArray().Select(p => (g, p.GetProperty("imageUrl"))))
                     .Where(p => p.Item2.ValueKind == JsonValueKind.String).Take(10))
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url.GetString());
            request.Headers.Add("X-PinGlass-User", users[generation.GetProperty("id").GetGuid()]);
            using var response = await api.SendAsync(request, cancellationToken);
            images.Add(await response.EnsureSuccessStatusCode().Content.ReadAsByteArrayAsync(cancellationToken));
        }

        if (images.Count == 0)
        {
            return double.NaN;
        }

        // Timed one at a time on one thread once the run is over (this process also hosts the AppHost, so its CPU time would
        // count the AppHost's too); the median of several rounds leaves out a round another process interrupted.
        const int Rounds = 5;
        Decode(images[0]); // JIT
        var times = new List<double>();
        for (var round = 0; round < Rounds; round++)
        {
            foreach (var image in images)
            {
                var started = Stopwatch.GetTimestamp();
                Decode(image);
                times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }

        return Percentile([.. times.Order()], 0.5);

        static void Decode(byte[] bytes)
        {
            using var image = Image.Load<SixLabors.ImageSharp.PixelFormats.Rgb24>(bytes);
            image.Mutate(x => x.AutoOrient());
            var pixels = new byte[image.Width * image.Height * 3];
            image.CopyPixelDataTo(pixels);
        }
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

    /// <summary>Starts a generation for <paramref name="user"/>, sending the upload again after a throttle's Retry-After.</summary>
    internal static async Task<(Guid Id, string User)> StartAsync(HttpClient api, string user, IReadOnlyList<PinGlass.Photos.Intake.UploadedPhoto> photos,
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

    /// <summary>Each generation once it ended, read every second.</summary>
    internal static async Task<List<JsonElement>> WaitAllAsync(HttpClient api, IReadOnlyList<(Guid Id, string User)> ids, CancellationToken cancellationToken)
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

    private static async Task WaitEndedAsync(NpgsqlDataSource database, IReadOnlyList<(Guid Id, string User)> ids, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("SELECT count(*) FROM generation_jobs WHERE id = ANY(@ids) AND status NOT IN ('queued', 'running')");
        command.Parameters.AddWithValue("ids", ids.Select(i => i.Id).ToArray());
        var deadline = Stopwatch.StartNew();
        var reported = TimeSpan.Zero;
        while ((long)(await command.ExecuteScalarAsync(cancellationToken))! is var done && done < ids.Count && deadline.Elapsed < TimeSpan.FromMinutes(60))
        {
            // A line a minute, so a run stopped before its end still says how far it came and how loaded the machine was.
            if (deadline.Elapsed - reported >= TimeSpan.FromMinutes(1))
            {
                reported = deadline.Elapsed;
                Console.WriteLine($"  {deadline.Elapsed.TotalMinutes:F0} min: {done}/{ids.Count} generations ended; load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
            }

            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }
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

    /// <summary>Rows inserted, updated and deleted so far in each table (schema.table), from PostgreSQL's cumulative statistics.</summary>
    private static async Task<Dictionary<string, long>> RowWritesAsync(NpgsqlDataSource database, CancellationToken cancellationToken)
    {
        // The statistics are sent to the cumulative view at the end of each transaction and read as of the start of this one.
        await using var command = database.CreateCommand(
            "SELECT schemaname || '.' || relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var writes = new Dictionary<string, long>();
        while (await reader.ReadAsync(cancellationToken))
        {
            writes[reader.GetString(0)] = reader.GetInt64(1);
        }

        return writes;
    }

    /// <summary>Transactions committed and rolled back in the database so far.</summary>
    internal static async Task<long> TransactionsAsync(NpgsqlDataSource database, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()");
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public static double Percentile(IReadOnlyList<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    /// <summary>Jain's fairness index of the generations' times: 1 when all took as long, 1/n when one took it all.</summary>
    public static double Jain(IReadOnlyList<double> values) =>
        values.Count == 0 ? double.NaN : Math.Pow(values.Sum(), 2) / (values.Count * values.Sum(v => v * v));
}
