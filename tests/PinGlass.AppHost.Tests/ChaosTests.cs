using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using PinGlass.Platform;
using PinGlass.Fixtures;
using PinGlass.Photos.Intake;
using PinGlass.Platform.Storage;

namespace PinGlass.AppHost.Tests;

/// <summary>
/// The chaos suite, on an AppHost of its own (it kills and restarts servers): twenty generations at once while Replicate (the
/// emulator, 20× time) throttles, errs before and after carrying requests out, fails predictions, drops and duplicates
/// webhooks (reordering is asked for too; it applies to the non-terminal webhooks PinGlass does not subscribe to), takes the primary
/// model down and has its output host answer 503; while a
/// Jobs replica is killed and Redis, PostgreSQL and the faces service go down and come back. Every fault is transient, so afterwards
/// every promise must hold for every generation; the figures are printed as a table.
/// </summary>
public sealed partial class ChaosTests(ChaosTests.ChaosApp chaos) : IClassFixture<ChaosTests.ChaosApp>
{
    private const int Generations = 20;
    private const string Styles = "professional-headshot,golden-hour,film-noir,watercolor";

    /// <summary>
    /// An AppHost of the class's own over its own data folder. The Jobs replicas give the faces service 15 s an attempt (45 s in all)
    /// rather than a minute, so an identity check meets a stopped faces service within the test.
    /// </summary>
    public sealed class ChaosApp : IAsyncLifetime
    {
        private DistributedApplication? app;

        public string DataRoot { get; } = PinGlassApp.NewDataRoot();

        public DistributedApplication App => app ?? throw new InvalidOperationException("The AppHost has not started.");

        public async ValueTask InitializeAsync()
        {
            var builder = await PinGlassApp.CreateBuilderAsync(DataRoot);
            foreach (var jobs in builder.Resources.OfType<ProjectResource>().Where(r => r.Name == ResourceNames.Jobs).ToList())
            {
                builder.CreateResourceBuilder(jobs).WithEnvironment("Photos__Faces__Timeout", "00:00:15");
            }

            // The analysis queue's limits as they are in production, but a long wait: the queue test's waiting uploads sit through
            // the faces service's pause and then four rounds of analysis.
            foreach (var api in builder.Resources.OfType<ProjectResource>().Where(r => r.Name == ResourceNames.Api).ToList())
            {
                builder.CreateResourceBuilder(api).WithEnvironment("Photos__AnalysisQueue__UploadsAtOnce", "2")
                    .WithEnvironment("Photos__AnalysisQueue__UploadsWaiting", "8").WithEnvironment("Photos__AnalysisQueue__UploadsPerClient", "20")
                    .WithEnvironment("Photos__AnalysisQueue__MaxWait", "00:05:00");
            }

            app = await PinGlassApp.StartAsync(builder);
        }

        public async ValueTask DisposeAsync()
        {
            if (app is not null)
            {
                await app.DisposeAsync();
            }

            PinGlassApp.DeleteDataRoot(DataRoot);
        }
    }

    [Fact]
    public async Task The_faces_service_stopped_for_a_while_makes_identity_checks_wait_and_then_checks_them()
    {
        using var client = GenerationClient.For(chaos.App);
        await using var stores = await Stores.ConnectAsync(chaos.App);
        // Predictions take 15 s of wall time (a 300 s cold boot at 20×), so the faces service is down when their outputs arrive.
        await client.SetFaultsAsync("""[{"kind":"cold_start","duration":"00:05:00"}]""");
        var id = await client.StartAsync(("styles", "professional-headshot,golden-hour"));
        await StopAsync(ResourceNames.Faces);
        try
        {
            // An upload meanwhile cannot be analysed: the Api says so with a 503 and when to send it again, and stores nothing.
            using var refused = await client.PostAsync(GenerationClient.OnePhoto, ("styles", "professional-headshot"));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(10), refused.Headers.RetryAfter?.Delta);

            // Both outputs are taken in, put off while the identity gate cannot be asked, and not delivered unchecked.
            var deferred = await Poll.UntilAsync(() => stores.QueryAsync(
                    $"SELECT prediction_id FROM predictions WHERE generation_id = '{id}' AND take_in_tries > 0", r => r.GetString(0)),
                n => n.Count == 2, TimeSpan.FromSeconds(150));
            Assert.Equal(2, deferred.Count);
            Assert.All((await client.GetAsync(id)).GetProperty("portraits").EnumerateArray(),
                p => Assert.Equal("running", p.GetProperty("status").GetString()));

            // However long the wait, the outputs are not lost: Replicate deleting them (an hour after) leaves PinGlass's copies.
            foreach (var prediction in deferred)
            {
                await client.ExpireAsync(prediction);
            }
        }
        finally
        {
            await StartAsync(ResourceNames.Faces);
            await client.SetFaultsAsync("[]");
        }

        var generation = await client.WaitAsync(id);
        GenerationClient.AssertStatus("completed", generation);
        Assert.All(generation.GetProperty("portraits").EnumerateArray(), p =>
        {
            Assert.Equal(("flux-pulid", 1), (p.GetProperty("provider").GetString(), p.GetProperty("attempts").GetArrayLength()));
            var identity = p.GetProperty("identity");
            Assert.Equal(("same_person", false), (identity.GetProperty("reason").GetString(), identity.GetProperty("flagged").GetBoolean()));
        });
    }

    [Fact]
    public async Task Uploads_past_the_analysis_queue_are_refused_at_once_and_the_queued_ones_are_analysed_when_analysis_resumes()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = GenerationClient.For(chaos.App);
        await using var stores = await Stores.ConnectAsync(chaos.App);
        var generationsBefore = await CountGenerationsAsync(stores);
        // A photo with no face: analysed, then refused as unusable (422), so nothing is generated or spent.
        using var blank = new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24>(640, 480, new SixLabors.ImageSharp.PixelFormats.Rgb24(90, 120, 150));
        UploadedPhoto[] noFace = [new("wall.png", Samples.Encode(blank, "png"))];

        // The faces service frozen (SIGSTOP): the two uploads analysed at once hang in analysis and eight wait (the ChaosApp's
        // Photos:AnalysisQueue), so of eleven uploads exactly one finds the queue full, whichever arrives last.
        var faces = await FacesProcessIdAsync();
        Send(faces, Signal.Stop);
        List<Task<HttpResponseMessage>> uploads;
        try
        {
            uploads = [.. Enumerable.Range(0, 11).Select(_ => client.PostAsync(noFace, ("styles", "professional-headshot")))];
            using var refused = await await Task.WhenAny(uploads).WaitAsync(TimeSpan.FromMinutes(1), ct);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(10), refused.Headers.RetryAfter?.Delta);
            var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync(ct)).RootElement;
            Assert.Equal("photo_analysis", problem.GetProperty("limit").GetString());
            await Task.Delay(TimeSpan.FromSeconds(1), ct);
            Assert.Equal(1, uploads.Count(u => u.IsCompleted));
        }
        finally
        {
            Send(faces, Signal.Continue);
        }

        // Analysis resumed: every upload that had a place is analysed and answered on its merits.
        var answers = await Task.WhenAll(uploads).WaitAsync(TimeSpan.FromMinutes(2), ct);
        Assert.Equal(10, answers.Count(a => a.StatusCode == HttpStatusCode.UnprocessableEntity));
        Assert.Equal(generationsBefore, await CountGenerationsAsync(stores));
        foreach (var answer in answers)
        {
            answer.Dispose();
        }
    }

    private static async Task<long> CountGenerationsAsync(Stores stores) =>
        (await stores.QueryAsync("SELECT count(*) FROM generation_jobs", r => r.GetInt64(0))).Single();

    [Fact]
    public async Task Twenty_generations_under_every_transient_fault_at_once_deliver_every_portrait_exactly_once_within_budget()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = GenerationClient.For(chaos.App);
        await using var stores = await Stores.ConnectAsync(chaos.App);
        var output = TestContext.Current.TestOutputHelper;
        using var turn = await HeavyLoad.TakeTurnAsync();

        // Replicate's side, in Replicate time (20× faster here): a minute-long 429 burst on every model, then 20 % 429s; 10 % 5xx, half
        // of them after the request was carried out; 10 % failed predictions; 10 % computing 30 s past their reserved compute; 30 % of
        // webhooks dropped, 30 % duplicated, 30 % reordered.
        const string Steady = """
            {"kind":"rate_limit","model":"bytedance/flux-pulid","duration":"00:01:00","count":1},
            {"kind":"rate_limit","model":"black-forest-labs/flux-kontext-pro","duration":"00:01:00","count":1},
            {"kind":"rate_limit","model":"grandlineai/instant-id-photorealistic","duration":"00:01:00","count":1},
            {"kind":"rate_limit","probability":0.2,"duration":"00:00:01"},
            {"kind":"server_error","status":503,"probability":0.05},
            {"kind":"server_error","status":500,"probability":0.05,"after_processing":true},
            {"kind":"prediction_failed","probability":0.1},
            {"kind":"slow_prediction","probability":0.1,"duration":"00:00:30"},
            {"kind":"webhook_drop","probability":0.3},
            {"kind":"webhook_duplicate","probability":0.3},
            {"kind":"webhook_reorder","probability":0.3}
            """;
        // For a while: the primary model down (its predictions never start), and for the whole upload the output host answering 503.
        const string PrimaryDown = """{"kind":"model_down","model":"bytedance/flux-pulid"}""";
        const string OutputHostDown = """{"kind":"delivery_error","probability":0.5}""";
        await client.SetFaultsAsync($"[{Steady},{PrimaryDown},{OutputHostDown}]");
        var clock = Stopwatch.StartNew();
        var ids = new List<Guid>();
        foreach (var chunk in Enumerable.Range(0, Generations).Chunk(4))
        {
            ids.AddRange(await Task.WhenAll(chunk.Select(_ => client.StartAsync(("styles", Styles), ("batchSize", "2"), ("batchDelayMs", "2000")))));
            if (ids.Count == 8)
            {
                await client.SetFaultsAsync($"[{Steady},{OutputHostDown}]"); // more than a minute of Replicate time: the primary is back
            }
        }

        await client.SetFaultsAsync($"[{Steady}]");
        var uploaded = clock.Elapsed;
        // The machines' side, while the generations run: a Jobs replica killed outright, then Redis, PostgreSQL and the faces service
        // each down for a few seconds and back.
        await KillJobsReplicaAsync(stores);
        // With Redis down the Api still answers (its request counter lets calls through uncounted).
        await RestartAsync(ResourceNames.Cache, Signal.Term, "redis-server",
            whileDown: async () => Assert.Equal(HttpStatusCode.OK, (await client.Api.GetAsync($"/v1/generations/{ids[0]}", ct)).StatusCode));
        // With PostgreSQL down a call is a 503 with Retry-After (the same call works once it is back), and an operator's /health
        // still answers, without its details, since the key cannot be checked.
        var (_, operatorKey) = await new PinGlass.Generations.Clients.ClientStore(stores.Database, TimeProvider.System)
            .CreateKeyAsync($"chaos-operator-{Guid.NewGuid():N}", operatorClient: true, ct);
        await RestartAsync(ResourceNames.Postgres, Signal.Int, "postgres -D", whileDown: async () =>
        {
            using var call = await client.Api.GetAsync($"/v1/generations/{ids[0]}", ct);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, call.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(5), call.Headers.RetryAfter?.Delta);
            Assert.Equal("application/problem+json", call.Content.Headers.ContentType?.MediaType);
            using var health = new HttpRequestMessage(HttpMethod.Get, "/health");
            health.Headers.Authorization = new("Bearer", operatorKey);
            using var anyone = chaos.App.CreateHttpClient(ResourceNames.Api);
            using var healthAnswer = await anyone.SendAsync(health, ct);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, healthAnswer.StatusCode);
            Assert.Equal("{\"status\":\"Unhealthy\"}", await healthAnswer.Content.ReadAsStringAsync(ct));
        });
        stores.Database.Clear(); // this test's own pooled connections died with the server
        await StopAsync(ResourceNames.Faces);
        await Task.Delay(TimeSpan.FromSeconds(8), ct);
        await StartAsync(ResourceNames.Faces);
        var disrupted = clock.Elapsed;

        var ended = new List<JsonElement>();
        foreach (var id in ids)
        {
            ended.Add(await client.WaitAsync(id, TimeSpan.FromMinutes(8)));
        }

        var finished = clock.Elapsed;
        await client.SetFaultsAsync("[]");

        // What Replicate made and billed, and what PinGlass recorded.
        var ours = ids.Select(id => $"{id:N}-").ToList();
        var emulated = (await client.EmulatorPredictionsAsync())
            .Where(p => p.GetProperty("webhook").GetString() is { } hook && ours.Any(hook.Contains)).ToList();
        var emulatedIds = emulated.Select(p => p.GetProperty("id").GetString()!).ToHashSet();
        var billed = await Poll.UntilAsync(async () => (await client.LedgerAsync()).Where(e => emulatedIds.Contains(e.Id)).ToDictionary(e => e.Id, e => e.Cost),
            entries => entries.Count == emulatedIds.Count, TimeSpan.FromSeconds(60));
        var idList = string.Join(",", ids.Select(id => $"'{id}'"));
        var ledger = (await stores.QueryAsync($"SELECT prediction_id, cost_usd FROM predictions WHERE generation_id IN ({idList}) AND prediction_id IS NOT NULL",
            r => (Id: r.GetString(0), Cost: r.GetDecimal(1)))).ToDictionary(r => r.Id, r => r.Cost);
        var generations = await stores.QueryAsync($"""
            SELECT id, status, completed_at <= deadline_at, spent_usd, budget_usd, reserved_usd FROM generation_jobs WHERE id IN ({idList})
            """, r => (Id: r.GetGuid(0), Status: r.GetString(1), InTime: !r.IsDBNull(2) && r.GetBoolean(2), Spent: r.GetDecimal(3), Budget: r.GetDecimal(4),
                Reserved: r.GetDecimal(5)));
        var portraits = await stores.QueryAsync($"""
            SELECT generation_id, index, status, blob_name, error_category, error FROM portraits WHERE generation_id IN ({idList})
            """, r => (Generation: r.GetGuid(0), Index: r.GetInt32(1), Status: r.GetString(2), Blob: r.IsDBNull(3) ? null : r.GetString(3),
                Category: r.IsDBNull(4) ? null : r.GetString(4), Error: r.IsDBNull(5) ? null : r.GetString(5)));
        var heldReservations = (await stores.QueryAsync($"SELECT count(*) FROM predictions WHERE generation_id IN ({idList}) AND reserved_usd <> 0",
            r => r.GetInt64(0))).Single();
        var blobs = new HashSet<string>();
        await foreach (var blob in stores.Blobs.GetBlobContainerClient(BlobContainers.Portraits).GetBlobsAsync(cancellationToken: ct))
        {
            blobs.Add(blob.Name);
        }

        var delivered = portraits.Count(p => p.Status == "succeeded");
        var storedOnce = portraits.Count(p => p.Status == "succeeded" && p.Blob is not null && blobs.Contains(p.Blob));
        var failedWithReason = portraits.Count(p => p.Status == "failed" && !string.IsNullOrEmpty(p.Category) && !string.IsNullOrEmpty(p.Error));
        var costMismatches = billed.Count(e => !ledger.TryGetValue(e.Key, out var cost) || decimal.Round(cost, 2) != decimal.Round(e.Value, 2)
                                               || Math.Abs(cost - e.Value) >= 0.000001m);
        var missing = emulatedIds.Count(p => !ledger.ContainsKey(p));
        var running = emulated.Count(p => p.GetProperty("status").GetString() is "starting" or "processing");
        var injected = (await client.FaultsAsync()).GetProperty("injected");

        var table = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"Chaos suite: {Generations} generations × 4 portraits; uploads {uploaded.TotalSeconds:0} s, disruptions until {disrupted.TotalSeconds:0} s, all ended at {finished.TotalSeconds:0} s")
            .AppendLine(CultureInfo.InvariantCulture, $"faults injected: {injected}")
            .AppendLine("| figure | value | target |")
            .AppendLine("|---|---|---|")
            .AppendLine(CultureInfo.InvariantCulture, $"| generations terminal before their deadline | {generations.Count(g => g.InTime)} of {generations.Count} | all |")
            .AppendLine(CultureInfo.InvariantCulture, $"| portraits delivered | {delivered} of {portraits.Count} ({100.0 * delivered / portraits.Count:0.0} %) | ≥ 99 % |")
            .AppendLine(CultureInfo.InvariantCulture, $"| delivered portraits stored once, readable | {storedOnce} of {delivered} | all |")
            .AppendLine(CultureInfo.InvariantCulture, $"| portraits failed with a reason | {failedWithReason} of {portraits.Count - delivered} | all |")
            .AppendLine(CultureInfo.InvariantCulture, $"| predictions on Replicate / in PinGlass's ledger | {emulatedIds.Count} / {ledger.Count} | equal |")
            .AppendLine(CultureInfo.InvariantCulture, $"| Replicate predictions missing from the ledger | {missing} | 0 |")
            .AppendLine(CultureInfo.InvariantCulture, $"| predictions whose cost differs from Replicate's | {costMismatches} | 0 |")
            .AppendLine(CultureInfo.InvariantCulture, $"| spent / billed (USD) | {ledger.Values.Sum():0.0000} / {billed.Values.Sum():0.0000} | equal |")
            .AppendLine(CultureInfo.InvariantCulture, $"| generations over budget | {generations.Count(g => g.Spent > g.Budget)} | 0 |")
            .AppendLine(CultureInfo.InvariantCulture, $"| predictions still running on Replicate | {running} | 0 |")
            .AppendLine(CultureInfo.InvariantCulture, $"| reservations left held | {heldReservations + generations.Count(g => g.Reserved != 0)} | 0 |")
            .ToString();
        // The table goes to the test's output and to chaos-suite.md beside the test assembly (a passing test's output is not shown).
        output?.WriteLine(table);
        await File.WriteAllTextAsync(Path.Combine(AppContext.BaseDirectory, "chaos-suite.md"), table, ct);

        Assert.Equal(Generations, generations.Count);
        Assert.All(generations, g => Assert.True(g.InTime, $"{g.Id} ended {g.Status} after its deadline (or not at all)"));
        var failedAttempts = await stores.QueryAsync($"""
            SELECT generation_id, portrait_index, attempt, provider, status, error_category FROM predictions
            WHERE (generation_id, portrait_index) IN (SELECT generation_id, index FROM portraits WHERE generation_id IN ({idList}) AND status <> 'succeeded')
            ORDER BY 1, 2, 3
            """, r => $"{r.GetGuid(0)} {r.GetInt32(1)}#{r.GetInt32(2)} {r.GetString(3)} {r.GetString(4)} {(r.IsDBNull(5) ? "" : r.GetString(5))}");
        Assert.True(delivered >= 0.99 * portraits.Count, table + string.Join(Environment.NewLine, portraits.Where(p => p.Status != "succeeded"))
                                                         + Environment.NewLine + string.Join(Environment.NewLine, failedAttempts));
        Assert.Equal(delivered, storedOnce);
        Assert.Equal(portraits.Count - delivered, failedWithReason);
        Assert.Equal(0, missing);
        Assert.True(costMismatches == 0, string.Join(Environment.NewLine, billed.Where(e => !ledger.TryGetValue(e.Key, out var cost) || cost != e.Value)
            .Select(e => $"{e.Key}: billed {e.Value}, ledger {(ledger.TryGetValue(e.Key, out var c) ? c : null)}, "
                         + emulated.Single(p => p.GetProperty("id").GetString() == e.Key).GetProperty("status").GetString())));
        Assert.Equal(emulatedIds.Count, ledger.Count);
        Assert.All(generations, g => Assert.True(g.Spent <= g.Budget, $"{g.Id} spent {g.Spent} of {g.Budget}"));
        Assert.Equal(0, running);
        Assert.Equal(0, heldReservations + generations.Count(g => g.Reserved != 0));
    }

    private enum Signal
    {
        Term = 15,
        Int = 2,
        Kill = 9,
        Continue = 18,
        Stop = 19,
    }

    /// <summary>The faces service's process (node, started by Aspire itself, so the pid it records is node's).</summary>
    private async Task<int> FacesProcessIdAsync()
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(1));
        var running = await chaos.App.ResourceNotifications.WaitForResourceAsync(ResourceNames.Faces,
            e => e.Snapshot.Properties.Any(p => p.Name == "executable.pid" && p.Value is not null), timeout.Token);
        return Convert.ToInt32(running.Snapshot.Properties.First(p => p.Name == "executable.pid").Value, CultureInfo.InvariantCulture);
    }

    /// <summary>Kills one Jobs replica outright (SIGKILL): the process Hangfire's server table names (its id starts with machine:pid).</summary>
    private static async Task KillJobsReplicaAsync(Stores stores)
    {
        var pid = (await stores.QueryAsync("SELECT id FROM hangfire.server ORDER BY lastheartbeat DESC LIMIT 1",
            r => int.Parse(r.GetString(0).Split(':')[1], CultureInfo.InvariantCulture))).Single();
        Send(pid, Signal.Kill);
    }

    /// <summary>
    /// Takes a server down with <paramref name="signal"/> (PostgreSQL's fast shutdown is SIGINT: its smart one waits for every pooled
    /// connection to close) and starts it again through the AppHost once it has exited.
    /// </summary>
    private async Task RestartAsync(string resource, Signal signal, string commandLine, Func<Task>? whileDown = null)
    {
        var pid = PinGlassApp.ProcessIdsUsing(chaos.DataRoot, commandLine).First();
        Send(pid, signal);
        await WaitForTerminalAsync(resource);
        if (whileDown is not null)
        {
            await whileDown();
        }

        await Task.Delay(TimeSpan.FromSeconds(3), TestContext.Current.CancellationToken);
        await StartAsync(resource);
    }

    private static void Send(int pid, Signal signal) =>
        Assert.True(Kill(pid, (int)signal) == 0, $"kill -{(int)signal} {pid} failed: {Marshal.GetLastPInvokeError()}");

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    private async Task StopAsync(string resource)
    {
        await chaos.App.ResourceCommands.ExecuteCommandAsync(resource, KnownResourceCommands.StopCommand, TestContext.Current.CancellationToken);
        await WaitForTerminalAsync(resource);
    }

    /// <remarks>
    /// The start command can return before the resource has left the state it stopped in; a health wait that gives up on a stopped
    /// resource then read that old state as "failed to start" (a clean-clone run met it with Redis up again). So: running first, then
    /// healthy, waiting through any state left from before.
    /// </remarks>
    private async Task StartAsync(string resource)
    {
        await chaos.App.ResourceCommands.ExecuteCommandAsync(resource, KnownResourceCommands.StartCommand, TestContext.Current.CancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        await chaos.App.ResourceNotifications.WaitForResourceAsync(resource, KnownResourceStates.Running, timeout.Token);
        await chaos.App.ResourceNotifications.WaitForResourceHealthyAsync(resource, WaitBehavior.WaitOnResourceUnavailable, timeout.Token);
    }

    private async Task WaitForTerminalAsync(string resource)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(1));
        await chaos.App.ResourceNotifications.WaitForResourceAsync(resource, KnownResourceStates.TerminalStates, timeout.Token);
    }
}
