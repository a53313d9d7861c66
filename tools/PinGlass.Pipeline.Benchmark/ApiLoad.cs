using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Aspire.Hosting.Testing;
using PinGlass.Cli.Api;
using PinGlass.Fixtures;
using PinGlass.Platform;

namespace PinGlass.Pipeline.Benchmark;

/// <summary>
/// The Api under a client app's reads: <c>GET /v1/generations/{id}</c> at a steady rate (open loop: each request is sent when it is
/// due, whether or not earlier ones were answered, and timed from then, so a slow Api cannot hide its queue), alone and while many
/// people follow a running generation's event stream.
/// </summary>
public static class ApiLoad
{
    private const double P99Target = 50; // ms

    public sealed record Options(int Rate, int Seconds, int Followers)
    {
        public static Options? Parse(string[] args)
        {
            var options = new Options(200, 30, 1000);
            for (var i = 0; i < args.Length; i += 2)
            {
                var value = i + 1 < args.Length ? args[i + 1] : null;
                options = (args[i], value) switch
                {
                    ("--rate", _) when int.TryParse(value, out var n) && n > 0 => options with { Rate = n },
                    ("--seconds", _) when int.TryParse(value, out var n) && n > 0 => options with { Seconds = n },
                    ("--followers", _) when int.TryParse(value, out var n) && n > 0 => options with { Followers = n },
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

    /// <summary>Latencies in ms of the answered requests, and how many were not answered 200.</summary>
    public sealed record Reads(IReadOnlyList<double> Milliseconds, int Failed)
    {
        /// <summary>Each answered request's due time (a <see cref="Stopwatch"/> timestamp) and latency in ms.</summary>
        public IReadOnlyList<(long Due, double Milliseconds)> Timed { get; init; } = [];

        /// <summary>Due times of the requests not answered 200.</summary>
        public IReadOnlyList<long> FailedDue { get; init; } = [];

        /// <summary>The requests due before (or from) <paramref name="timestamp"/>.</summary>
        public Reads Split(long timestamp, bool before) =>
            new([.. Timed.Where(t => t.Due < timestamp == before).Select(t => t.Milliseconds)], FailedDue.Count(d => d < timestamp == before));

        public string Describe() =>
            $"{Milliseconds.Count + Failed} requests, {Failed} not answered 200; p50 {Percentile(0.50):F1} ms, p90 {Percentile(0.90):F1} ms, " +
            $"p99 {Percentile(0.99):F1} ms, max {(Milliseconds.Count > 0 ? Milliseconds.Max() : double.NaN):F1} ms";

        public double Percentile(double p) => Saturation.Percentile([.. Milliseconds.Order()], p);
    }

    public static async Task<int> RunAsync(Options options, CancellationToken cancellationToken)
    {
        Console.WriteLine("Starting the AppHost (emulator at Replicate's real latencies; the client's request limit lifted)...");
        await using var bench = await BenchmarkApp.StartAsync(1, cancellationToken, crowd: true);
        using var api = bench.App.CreateHttpClient(ResourceNames.Api).ActingFor(user: null);
        api.Timeout = TimeSpan.FromMinutes(5);
        var connectionString = await bench.App.GetConnectionStringAsync(ResourceNames.Database, cancellationToken)
            ?? throw new InvalidOperationException("No connection string for the database.");
        var services = ServiceProcesses.Find(connectionString);
        await using var database = Npgsql.NpgsqlDataSource.Create(connectionString);
        var photo = Samples.ReferenceUpload().Take(1).ToList();

        // A finished 23-portrait generation is what is read; making it also warms flux-pulid up (its cold boot is not measured).
        Console.WriteLine("A 23-portrait generation to read (and flux-pulid's cold boot)...");
        var read = await Saturation.StartAsync(api, "reader", photo, [], cancellationToken);
        await Saturation.WaitAllAsync(api, [read], cancellationToken);

        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue, PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
        using var reader = new HttpClient(handler, disposeHandler: false) { BaseAddress = api.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        reader.ActingFor(user: read.User);
        var path = $"/v1/generations/{read.Id}";
        await ReadAtRateAsync(reader, path, options.Rate, TimeSpan.FromSeconds(5), cancellationToken); // connections and JIT, not counted

        var cpu = services.CpuSeconds(ResourceNames.Api);
        var (transactions, started) = (await Saturation.TransactionsAsync(database, cancellationToken), Stopwatch.GetTimestamp());
        var alone = await ReadAtRateAsync(reader, path, options.Rate, TimeSpan.FromSeconds(options.Seconds), cancellationToken);
        var aloneTps = (await Saturation.TransactionsAsync(database, cancellationToken) - transactions) / Stopwatch.GetElapsedTime(started).TotalSeconds;
        var cpuPerRead = (services.CpuSeconds(ResourceNames.Api) - cpu) * 1000 / (alone.Milliseconds.Count + alone.Failed);
        Console.WriteLine();
        Console.WriteLine($"GET {path.Replace(read.Id.ToString(), "{id}")} at {options.Rate}/s for {options.Seconds} s: {alone.Describe()}");
        Console.WriteLine($"  The Api's CPU: {cpuPerRead:F2} ms a request (its idle work included); the database: {aloneTps:F0} transactions a second");

        Console.WriteLine();
        Console.WriteLine($"{options.Followers} people following a new generation's event stream, while the reads go on at {options.Rate}/s...");
        services.ResetPeakMemory(); // the peak while people follow, not the first generation's photo analysis
        var followed = await Saturation.StartAsync(api, "followed", photo, [], cancellationToken);
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        (transactions, started) = (await Saturation.TransactionsAsync(database, cancellationToken), Stopwatch.GetTimestamp());
        var during = ReadAtRateAsync(reader, path, options.Rate, TimeSpan.FromMinutes(10), reading.Token);
        var followers = await FollowAsync(api.BaseAddress!, handler, followed, options.Followers, cancellationToken);
        await reading.CancelAsync();
        var followingTps = (await Saturation.TransactionsAsync(database, cancellationToken) - transactions) / Stopwatch.GetElapsedTime(started).TotalSeconds;
        var readsDuring = await during;
        var generation = (await Saturation.WaitAllAsync(api, [followed], cancellationToken)).Single();
        var completedAt = generation.GetProperty("completedAt").GetDateTimeOffset();

        var connected = followers.Select(f => f.FirstEventMs).Where(double.IsFinite).Order().ToList();
        var lags = followers.Where(f => f.EndedAt is not null).Select(f => (f.EndedAt!.Value - completedAt).TotalMilliseconds).Order().ToList();
        Console.WriteLine($"  Followers that saw the end: {lags.Count}/{options.Followers}; events each: {followers.Min(f => f.Events)}–{followers.Max(f => f.Events)}");
        Console.WriteLine($"  Open → first event: p50 {Saturation.Percentile(connected, 0.5):F0} ms, p99 {Saturation.Percentile(connected, 0.99):F0} ms, max {connected.LastOrDefault():F0} ms");
        Console.WriteLine($"  Generation's completedAt → its end event at the follower: p50 {Saturation.Percentile(lags, 0.5):F0} ms, p99 {Saturation.Percentile(lags, 0.99):F0} ms, max {lags.LastOrDefault():F0} ms");
        var allOpen = followers.Max(f => f.FirstEventAt);
        Console.WriteLine($"  GET meanwhile: {readsDuring.Describe()}");
        Console.WriteLine($"    while the streams opened: {readsDuring.Split(allOpen, before: true).Describe()}");
        Console.WriteLine($"    once all were open:       {readsDuring.Split(allOpen, before: false).Describe()}");
        // Each follower reads the database itself when Redis brings a change out of order or nothing for a while: with many followers
        // of one generation, that is many reads of the same rows.
        Console.WriteLine($"  The database meanwhile: {followingTps:F0} transactions a second (the generation's own work included)");
        var peak = services.PeakMemoryMb();
        Console.WriteLine($"  Peak memory: {string.Join(", ", peak.Select(p => $"{p.Key} {p.Value:F0} MB"))}");
        Console.WriteLine();
        var p99 = alone.Percentile(0.99);
        Console.WriteLine($"GET p99 at {options.Rate}/s: {p99:F1} ms (target ≤ {P99Target} ms: {(p99 <= P99Target ? "met" : "not met")})");
        Console.WriteLine($"Load average at the end: {File.ReadAllText("/proc/loadavg").Split(' ')[0]} on {Environment.ProcessorCount} cores");
        return alone.Failed == 0 && readsDuring.Failed == 0 && lags.Count == options.Followers ? 0 : 1;
    }

    /// <summary>Sends a request every 1/<paramref name="rate"/> s for <paramref name="duration"/> (or until cancelled), each timed from when it was due.</summary>
    private static async Task<Reads> ReadAtRateAsync(HttpClient client, string path, int rate, TimeSpan duration, CancellationToken cancellationToken)
    {
        var latencies = new ConcurrentBag<(long Due, double Milliseconds)>();
        var failed = new ConcurrentBag<long>();
        var requests = new List<Task>();
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; !cancellationToken.IsCancellationRequested; i++)
        {
            var due = TimeSpan.FromSeconds((double)i / rate);
            if (due >= duration)
            {
                break;
            }

            if (due - Stopwatch.GetElapsedTime(start) is { Ticks: > 0 } wait)
            {
                try
                {
                    await Task.Delay(wait, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            requests.Add(SendAsync(due));
        }

        await Task.WhenAll(requests);
        return new Reads([.. latencies.Select(l => l.Milliseconds)], failed.Count) { Timed = [.. latencies], FailedDue = [.. failed] };

        async Task SendAsync(TimeSpan due)
        {
            try
            {
                using var response = await client.GetAsync(path, HttpCompletionOption.ResponseContentRead, CancellationToken.None);
                if (response.IsSuccessStatusCode)
                {
                    latencies.Add((DueAt(due), (Stopwatch.GetElapsedTime(start) - due).TotalMilliseconds));
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Counted as failed below.
            }

            failed.Add(DueAt(due));
        }

        long DueAt(TimeSpan due) => start + (long)(due.TotalSeconds * Stopwatch.Frequency);
    }

    /// <param name="FirstEventAt">When the stream's first event arrived (a <see cref="Stopwatch"/> timestamp).</param>
    private sealed record Follower(double FirstEventMs, long FirstEventAt, int Events, DateTimeOffset? EndedAt);

    /// <summary>Opens <paramref name="count"/> event streams at once, as the command line follows a generation, and reads each to its end.</summary>
    private static async Task<IReadOnlyList<Follower>> FollowAsync(Uri api, HttpMessageHandler handler, (Guid Id, string User) generation, int count,
        CancellationToken cancellationToken)
    {
        return await Task.WhenAll(Enumerable.Range(0, count).Select(_ => Task.Run(async () =>
        {
            using var client = PinGlassApiClient.Create(api, ApiClients.DemoKey, generation.User, TimeSpan.FromMinutes(5), handler);
            var opened = Stopwatch.GetTimestamp();
            double? first = null;
            long firstAt = 0;
            var events = 0;
            DateTimeOffset? ended = null;
            await foreach (var change in client.FollowAsync(generation.Id, cancellationToken))
            {
                if (first is null)
                {
                    firstAt = Stopwatch.GetTimestamp();
                    first = Stopwatch.GetElapsedTime(opened, firstAt).TotalMilliseconds;
                }

                events++;
                if (change.IsTerminal)
                {
                    ended = DateTimeOffset.UtcNow;
                }
            }

            return new Follower(first ?? double.NaN, firstAt, events, ended);
        }, cancellationToken)));
    }
}
