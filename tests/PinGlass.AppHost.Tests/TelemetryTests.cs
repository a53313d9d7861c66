using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using PinGlass.Fixtures;
using PinGlass.Platform;

namespace PinGlass.AppHost.Tests;

/// <summary>
/// An AppHost of its own for reading telemetry: the Aspire dashboard runs (the services export their traces to it, as in a developer's
/// run) and one Jobs replica serves its metrics at /metrics, so the figures of a known run are that replica's alone.
/// </summary>
public sealed class TelemetryApp : IAsyncLifetime
{
    /// <summary>The key the dashboard's telemetry API asks for (a test's own, random each run).</summary>
    public string DashboardApiKey { get; } = Guid.NewGuid().ToString("N");

    public string DataRoot { get; } = PinGlassApp.NewDataRoot();

    public DistributedApplication App { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var builder = await PinGlassApp.CreateBuilderAsync(DataRoot, dashboard: true);
        builder.Configuration["AppHost:DashboardApiKey"] = DashboardApiKey;
        foreach (var service in builder.Resources.OfType<ProjectResource>().Where(r => r.Name is ResourceNames.Api or ResourceNames.Jobs).ToList())
        {
            var resource = builder.CreateResourceBuilder(service).WithEnvironment("Telemetry__ScrapeEndpoint", "true");
            if (service.Name == ResourceNames.Jobs)
            {
                resource.WithReplicas(1);
            }
        }

        App = await PinGlassApp.StartAsync(builder);
    }

    public async ValueTask DisposeAsync()
    {
        if (App is not null)
        {
            await App.DisposeAsync();
        }

        PinGlassApp.DeleteDataRoot(DataRoot);
    }

    /// <summary>The dashboard's telemetry API (OTLP JSON), with the key.</summary>
    public async Task<HttpClient> DashboardAsync()
    {
        var url = await App.GetDashboardUrlAsync(TestContext.Current.CancellationToken);
        var client = new HttpClient { BaseAddress = new Uri(url.GetLeftPart(UriPartial.Authority)) };
        client.DefaultRequestHeaders.Add("x-api-key", DashboardApiKey);
        return client;
    }
}

/// <summary>The metrics and the trace of known generations, read where operators read them.</summary>
public sealed class TelemetryTests(TelemetryApp fixture) : IClassFixture<TelemetryApp>, IAsyncLifetime
{
    private const string FluxPulid = "bytedance/flux-pulid";
    private const string KontextPro = "black-forest-labs/flux-kontext-pro";

    private readonly GenerationClient client = GenerationClient.For(fixture.App);
    private readonly HttpClient jobs = fixture.App.CreateHttpClient(ResourceNames.Jobs);
    private readonly HttpClient api = fixture.App.CreateHttpClient(ResourceNames.Api);

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        await client.SetFaultsAsync("[]");
        client.Dispose();
        jobs.Dispose();
        api.Dispose();
    }

    [Fact]
    public async Task A_known_run_moves_every_instrument_by_what_it_did()
    {
        // Nothing of another test still in flight: a poll of one of its flux-pulid predictions would take the 503 meant for a create
        // (the emulator's model-wide faults answer any request about the model), and the retry counted below would not happen.
        var jobsBefore = await Poll.UntilAsync(() => MetricsScrape.ReadAsync(jobs), m => m.Sum("pinglass_predictions_in_flight") == 0,
            TimeSpan.FromSeconds(60));
        var apiBefore = await MetricsScrape.ReadAsync(api);
        var started = Stopwatch.StartNew();

        // Three portraits: the first flux-pulid create (a POST: a poll of a prediction made first must not take it) meets a 503 and is sent again, one flux-pulid prediction fails and kontext-pro
        // makes that portrait instead, and one prediction waits (Replicate time) 480 s to start, so the in-flight gauge sees it: the gauge
        // is set by the reconciliation, every 5 s when Hangfire keeps time, and 10 s of wall time was missed under a clean-clone run's load.
        await client.SetFaultsAsync($$"""
            [{"kind":"server_error","model":"{{FluxPulid}}","status":503,"count":1,"request":"POST"},
             {"kind":"prediction_failed","model":"{{FluxPulid}}","count":1},
             {"kind":"cold_start","model":"{{FluxPulid}}","duration":"00:08:00","count":1}]
            """);
        var completedId = await client.StartAsync(("styles", "professional-headshot,golden-hour,film-noir"));
        var inFlight = await Poll.UntilAsync(async () => (await MetricsScrape.ReadAsync(jobs)).Sum("pinglass_predictions_in_flight"), n => n >= 1,
            TimeSpan.FromSeconds(60));
        var completed = await client.WaitAsync(completedId);
        GenerationClient.AssertStatus("completed", completed);

        // One portrait whose flux-pulid prediction fails, with a budget ($0.034) that holds one flux-pulid worst case ($0.0336) but
        // not kontext-pro's $0.04: the fallback is refused and the generation fails.
        await client.SetFaultsAsync($$"""[{"kind":"prediction_failed","model":"{{FluxPulid}}","count":1}]""");
        var refusedId = await client.StartAsync(("styles", "professional-headshot"), ("budget", "0.034"));
        var refused = await client.WaitAsync(refusedId);
        Assert.Equal("failed", refused.GetProperty("status").GetString());
        Assert.Equal("budget_exhausted", refused.GetProperty("portraits")[0].GetProperty("error").GetProperty("category").GetString());

        // The reconciliation job samples the gauge every 5 s: it falls back to 0 once nothing is in flight.
        var jobsAfter = await Poll.UntilAsync(() => MetricsScrape.ReadAsync(jobs), m => m.Sum("pinglass_predictions_in_flight") == 0, TimeSpan.FromSeconds(30));
        var apiAfter = await MetricsScrape.ReadAsync(api);
        var elapsed = started.Elapsed.TotalSeconds;
        double Jobs(string name, params (string, string)[] labels) => jobsAfter.Sum(name, labels) - jobsBefore.Sum(name, labels);
        double Api(string name, params (string, string)[] labels) => apiAfter.Sum(name, labels) - apiBefore.Sum(name, labels);

        // What the run did, prediction by prediction, as Replicate (the emulator) has it.
        var predictions = new List<JsonElement>();
        foreach (var generation in new[] { completed, refused })
        {
            foreach (var attempt in generation.GetProperty("portraits").EnumerateArray().SelectMany(p => p.GetProperty("attempts").EnumerateArray()))
            {
                predictions.Add(await client.EmulatorPredictionAsync(attempt.GetProperty("predictionId").GetString()!));
            }
        }

        var ledger = (await client.LedgerAsync()).ToDictionary(e => e.Id, e => e.Cost);
        Assert.Equal(5, predictions.Count);
        Assert.Equal(["failed", "failed", "succeeded", "succeeded", "succeeded"], predictions.Select(p => p.GetProperty("status").GetString()).Order());
        foreach (var group in predictions.GroupBy(p => (Model: p.GetProperty("model").GetString()!, Outcome: p.GetProperty("status").GetString()!)))
        {
            (string, string)[] tags = [("model", group.Key.Model), ("outcome", group.Key.Outcome)];
            Assert.Equal((double)group.Sum(p => ledger[p.GetProperty("id").GetString()!]), Jobs("pinglass_cost_total", tags), 9);
            Assert.Equal(group.Count(), Jobs("pinglass_prediction_duration_seconds_count", tags));
            Assert.Equal(group.Sum(p => (Time(p, "completed_at") - Time(p, "created_at")).TotalSeconds), Jobs("pinglass_prediction_duration_seconds_sum", tags), 6);
        }

        Assert.Equal(0.04, Jobs("pinglass_cost_total", ("model", KontextPro), ("outcome", "succeeded")), 9);
        Assert.Equal(1, Jobs("pinglass_generations_total", ("status", "completed")));
        Assert.Equal(1, Jobs("pinglass_generations_total", ("status", "failed")));
        Assert.Equal(2, Jobs("pinglass_generation_duration_seconds_count"));
        Assert.InRange(Jobs("pinglass_generation_duration_seconds_sum"), 0.1, elapsed);
        foreach (var portraits in completed.GetProperty("portraits").EnumerateArray().GroupBy(p => p.GetProperty("provider").GetString()!))
        {
            Assert.Equal(portraits.Count(), Jobs("pinglass_portraits_total", ("outcome", "succeeded"), ("provider", portraits.Key)));
        }

        Assert.Equal(3, Jobs("pinglass_portraits_total", ("outcome", "succeeded")));
        Assert.Equal(1, Jobs("pinglass_portraits_total", ("outcome", "failed"), ("provider", "none")));
        Assert.Equal(1, Jobs("pinglass_fallbacks_total", ("from", "flux-pulid"), ("to", "flux-kontext-pro")));
        Assert.Equal(1, Jobs("pinglass_fallbacks_total"));
        Assert.Equal(1, Jobs("pinglass_budget_refusals_total", ("provider", "flux-kontext-pro")));
        Assert.Equal(1, Jobs("pinglass_budget_refusals_total"));
        Assert.Equal(1, Jobs("pinglass_retries_total", ("provider", "flux-pulid")));
        Assert.Equal(1, Jobs("pinglass_retries_total"));
        Assert.Equal(completed.GetProperty("portraits").EnumerateArray().Sum(p => p.TryGetProperty("identity", out var i) && i.ValueKind == JsonValueKind.Object
            ? i.GetProperty("regenerations").GetInt32() : 0), Jobs("pinglass_portraits_regenerated_total"));
        Assert.Equal(5, Jobs("pinglass_creates_wait_milliseconds_count"));
        Assert.InRange(inFlight, 1, 3);

        // Every prediction's webhook reached the Api once.
        Assert.Equal(5, Api("pinglass_webhooks_total", ("result", "accepted")));
        Assert.Equal(5, Api("pinglass_webhooks_total"));
    }

    [Fact]
    public async Task One_trace_spans_a_generation_from_the_request_to_its_last_completion()
    {
        // The client app starts the trace: its traceparent becomes the parent of the Api's request span.
        var traceId = ActivityTraceId.CreateRandom();
        using var form = PinGlass.Fixtures.GenerationForm.Create(GenerationClient.OnePhoto, [("styles", "professional-headshot,golden-hour")]);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/generations") { Content = form };
        request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");
        using var response = await client.Api.SendAsync(request, TestContext.Current.CancellationToken);
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken)).GetProperty("id").GetString();
        var generation = await client.WaitAsync(Guid.Parse(id!));
        GenerationClient.AssertStatus("completed", generation);
        var predictionIds = generation.GetProperty("portraits").EnumerateArray()
            .SelectMany(p => p.GetProperty("attempts").EnumerateArray()).Select(a => a.GetProperty("predictionId").GetString()!).ToList();

        // Spans reach the dashboard within a second or two of ending (the services export every second under the AppHost).
        using var dashboard = await fixture.DashboardAsync();
        var spans = await Poll.UntilAsync(() => SpansAsync(dashboard, traceId.ToString()),
            s => s.Where(x => x.Name == "GenerationJobs.CompleteAsync").DistinctBy(x => x.Attributes.GetValueOrDefault("hangfire.job.id")).Count() >= predictionIds.Count
                 && s.Any(x => x.Name == "GenerationJobs.RunBatchAsync"),
            TimeSpan.FromSeconds(60));
        var names = string.Join(", ", spans.Select(s => $"{s.Service}:{s.Name}"));

        // One tree: every span but the request's has its parent in the trace, and the Api's request span hangs from the client's.
        var ids = spans.Select(s => s.SpanId).ToHashSet();
        var roots = spans.Where(s => !ids.Contains(s.ParentSpanId)).ToList();
        Assert.True(roots.Count == 1, $"Roots: {string.Join(", ", roots.Select(r => r.Name))} of {names}");
        Assert.Equal(ResourceNames.Api, roots[0].Service);
        Assert.Equal(id, roots[0].Attributes.GetValueOrDefault("pinglass.generation.id"));

        // The jobs, on the Jobs service, each about this generation or one of its predictions.
        foreach (var job in new[] { "GenerationJobs.PlanAsync", "GenerationJobs.RunBatchAsync" })
        {
            var span = Assert.Single(spans, s => s.Name == job);
            Assert.Equal(ResourceNames.Jobs, span.Service);
            Assert.Equal(id, span.Attributes.GetValueOrDefault("hangfire.job.arg.id"));
        }

        // Replicate's creates, each webhook (Api) and the completion job it queued (Jobs), for every prediction.
        // No other POST: a cancel here would be a prediction stopped that its budget could pay for.
        var posts = spans.Where(s => s.Service == ResourceNames.Jobs && s.Name.StartsWith("POST", StringComparison.Ordinal)
            && s.Attributes.GetValueOrDefault("url.full")?.Contains("/predictions", StringComparison.Ordinal) == true).ToList();
        Assert.True(posts.Count == predictionIds.Count, string.Join(", ", posts.Select(s => s.Attributes.GetValueOrDefault("url.full"))));
        Assert.Equal(predictionIds.Order(), spans.Where(s => s.Name == "Replicate webhook" && s.Service == ResourceNames.Api)
            .Select(s => s.Attributes["replicate.prediction.id"]).Order());
        // One completion job each; a job that met another worker taking the same end in is tried again (more spans, one job id).
        Assert.Equal(predictionIds.Order(), spans.Where(s => s.Name == "GenerationJobs.CompleteAsync" && s.Service == ResourceNames.Jobs)
            .DistinctBy(s => s.Attributes["hangfire.job.id"]).Select(s => s.Attributes["hangfire.job.arg.predictionId"]).Order());
    }

    [Fact]
    public async Task Background_polling_starts_no_trace_and_a_generations_trace_is_found_by_its_id()
    {
        var ct = TestContext.Current.CancellationToken;
        var id = await client.StartAsync(("styles", "professional-headshot"));
        GenerationClient.AssertStatus("completed", await client.WaitAsync(id));
        // Each Hangfire worker polls its queues every 2 s here and every instance proves its stores every 10 s: 20 s of both.
        await Task.Delay(TimeSpan.FromSeconds(20), ct);

        using var dashboard = await fixture.DashboardAsync();
        using var response = await dashboard.GetAsync("/api/telemetry/traces", ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {body}");
        var root = JsonDocument.Parse(body).RootElement;
        var data = root.TryGetProperty("data", out var d) ? d : root;
        var spans = (from resource in data.GetProperty("resourceSpans").EnumerateArray()
                     let service = Attributes(resource.GetProperty("resource")).GetValueOrDefault("service.name") ?? ""
                     from scope in resource.GetProperty("scopeSpans").EnumerateArray()
                     from span in scope.GetProperty("spans").EnumerateArray()
                     select (Service: service, TraceId: span.GetProperty("traceId").GetString()!, SpanId: span.GetProperty("spanId").GetString()!,
                         Parent: span.TryGetProperty("parentSpanId", out var parent) ? parent.GetString() ?? "" : "",
                         Name: span.GetProperty("name").GetString()!, Kind: span.TryGetProperty("kind", out var kind) ? kind.ToString() : "",
                         Attributes: Attributes(span))).ToList();
        // A root has no parent at all (a span whose parent was exported in another batch is not one).
        var roots = spans.Where(s => s.Parent.Length == 0).ToList();
        Assert.NotEmpty(roots);

        // No trace is a lone client call (a query, a Redis command, an HTTP request) that no request or job made: OTLP's kind 3 is CLIENT.
        var polling = roots.Where(r => r.Kind is "3" or "SPAN_KIND_CLIENT").ToList();
        Assert.True(polling.Count == 0, $"{polling.Count} of {roots.Count} traces are background calls: "
            + string.Join(", ", polling.GroupBy(r => $"{r.Service}: {r.Name}").Select(g => $"{g.Key} ×{g.Count()}").Take(10)));
        // The generation's trace is found by its id, the attribute its root carries.
        Assert.Contains(roots, r => r.Attributes.GetValueOrDefault("pinglass.generation.id") == id.ToString());
    }

    [Fact]
    public async Task No_log_line_or_span_of_a_run_holds_a_key_token_secret_or_password()
    {
        var ct = TestContext.Current.CancellationToken;
        // A run as a client makes one: a key created now, a generation made with it, and calls with a wrong key and a revoked one.
        await using var stores = await Stores.ConnectAsync(fixture.App);
        var clients = new PinGlass.Generations.Clients.ClientStore(stores.Database, TimeProvider.System);
        var (_, key) = await clients.CreateKeyAsync($"secrets-scan-{Guid.NewGuid():N}", operatorClient: false, ct);
        var (revokedKey, revoked) = await clients.CreateKeyAsync($"secrets-scan-{Guid.NewGuid():N}", operatorClient: false, ct);
        Assert.True(await clients.RevokeAsync(revokedKey.Id, ct));
        const string wrong = "pgk_not_a_key_of_anyone_0123456789abcdefghijklmnopqrs";
        using var keyed = GenerationClient.For(fixture.App, key);
        var generation = await keyed.WaitAsync(await keyed.StartAsync(("styles", "professional-headshot")));
        GenerationClient.AssertStatus("completed", generation);
        var predictionId = generation.GetProperty("portraits")[0].GetProperty("attempts")[0].GetProperty("predictionId").GetString()!;
        foreach (var refused in new[] { wrong, revoked })
        {
            using var stranger = fixture.App.CreateHttpClient(ResourceNames.Api).ActingFor(refused);
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await stranger.GetAsync("/v1/styles", ct)).StatusCode);
        }

        var webhookSecret = await client.WebhookSecretAsync();
        var secrets = new Dictionary<string, string>
        {
            ["the demo key"] = PinGlass.Fixtures.ApiClients.DemoKey, ["a new key"] = key, ["a revoked key"] = revoked, ["a wrong key"] = wrong,
            ["the Replicate token"] = ReplicateEndpoint.EmulatorToken, ["the webhook secret"] = webhookSecret,
            ["its key part"] = webhookSecret[(webhookSecret.IndexOf('_', StringComparison.Ordinal) + 1)..],
            ["Redis's password"] = StackExchange.Redis.ConfigurationOptions.Parse((await fixture.App.GetConnectionStringAsync(ResourceNames.Cache, ct))!).Password!,
        };
        foreach (var database in new[] { ResourceNames.Postgres, ResourceNames.DatabaseOwner, ResourceNames.Database })
        {
            secrets[$"{database}'s password"] = new Npgsql.NpgsqlConnectionStringBuilder(await fixture.App.GetConnectionStringAsync(database, ct)).Password!;
        }

        // Every structured log line and span the services exported (once this run's are in), and every resource's console output.
        using var dashboard = await fixture.DashboardAsync();
        var spans = await Poll.UntilAsync(() => dashboard.GetStringAsync("/api/telemetry/spans?limit=1000000", ct),
            text => text.Contains(predictionId, StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        var logs = await Poll.UntilAsync(() => dashboard.GetStringAsync("/api/telemetry/logs?limit=1000000", ct),
            text => text.Contains(predictionId, StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        var console = new System.Text.StringBuilder();
        var loggers = fixture.App.Services.GetRequiredService<ResourceLoggerService>();
        foreach (var resource in fixture.App.Services.GetRequiredService<DistributedApplicationModel>().Resources)
        {
            await foreach (var batch in loggers.GetAllAsync(resource).WithCancellation(ct))
            {
                foreach (var line in batch)
                {
                    console.AppendLine(line.Content);
                }
            }
        }

        // Not vacuous: each holds this run.
        Assert.All(new[] { spans, logs, console.ToString() }, text => Assert.Contains(predictionId, text, StringComparison.Ordinal));
        foreach (var (what, secret) in secrets)
        {
            Assert.True(secret.Length >= 16, $"{what} is too short to look for");
            Assert.False(spans.Contains(secret, StringComparison.Ordinal), $"a span holds {what}");
            Assert.False(logs.Contains(secret, StringComparison.Ordinal), $"a structured log line holds {what}");
            Assert.False(console.ToString().Contains(secret, StringComparison.Ordinal), $"a console line holds {what}");
        }
    }

    private sealed record Span(string Service, string Name, string SpanId, string ParentSpanId, IReadOnlyDictionary<string, string?> Attributes);

    /// <summary>The trace's spans as the dashboard's telemetry API gives them (OTLP JSON); none while it does not know the trace yet.</summary>
    private static async Task<List<Span>> SpansAsync(HttpClient dashboard, string traceId)
    {
        using var response = await dashboard.GetAsync($"/api/telemetry/traces/{traceId}", TestContext.Current.CancellationToken);
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return [];
        }

        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {body}");
        var root = JsonDocument.Parse(body).RootElement;
        var data = root.TryGetProperty("data", out var d) ? d : root;
        var spans = new List<Span>();
        foreach (var resource in data.GetProperty("resourceSpans").EnumerateArray())
        {
            var service = Attributes(resource.GetProperty("resource")).GetValueOrDefault("service.name") ?? "";
            foreach (var span in resource.GetProperty("scopeSpans").EnumerateArray().SelectMany(s => s.GetProperty("spans").EnumerateArray()))
            {
                spans.Add(new Span(service, span.GetProperty("name").GetString()!, span.GetProperty("spanId").GetString()!,
                    span.TryGetProperty("parentSpanId", out var parent) ? parent.GetString() ?? "" : "", Attributes(span)));
            }
        }

        return spans;
    }

    private static Dictionary<string, string?> Attributes(JsonElement owner) =>
        owner.TryGetProperty("attributes", out var attributes)
            ? attributes.EnumerateArray().ToDictionary(a => a.GetProperty("key").GetString()!, a => (string?)a.GetProperty("value").EnumerateObject().First().Value.ToString())
            : new Dictionary<string, string?>();

    private static DateTimeOffset Time(JsonElement prediction, string name) =>
        DateTimeOffset.Parse(prediction.GetProperty(name).GetString()!, CultureInfo.InvariantCulture);
}
