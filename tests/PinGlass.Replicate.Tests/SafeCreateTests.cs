using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using PinGlass.Replicate.Client;
using PinGlass.Replicate.Errors;
using PinGlass.Replicate.Resilience;

namespace PinGlass.Replicate.Tests;

/// <summary>SafeCreate against a stub: delays on a fake clock, and what it does after ambiguous outcomes.</summary>
public sealed class SafeCreateTests
{
    private static readonly Uri Api = new("https://api.replicate.test/");
    private static readonly ModelRef Model = ModelRef.Parse("bytedance/flux-pulid:8baa7ef2255075b46f4d91cd238c21d31181b3e6a864463f967960bb0112525b");
    private static readonly Uri Webhook = new("https://pinglass.test/hooks/replicate?job=7");

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static string PredictionJson(string id, string? webhook = null, string created = "2030-01-01T00:00:00.123456789Z", string status = "starting",
        string input = """{"prompt":"p"}""", bool dataRemoved = false) =>
        $$"""{"id":"{{id}}","model":"bytedance/flux-pulid","version":"8baa","status":"{{status}}","input":{{input}},"created_at":"{{created}}","data_removed":{{(dataRemoved ? "true" : "false")}}{{(webhook is null ? "" : $",\"webhook\":\"{webhook}\"")}}}""";

    /// <summary>The input of <see cref="PredictionJson"/>'s predictions by default.</summary>
    private static JsonObject Input() => new() { ["prompt"] = "p" };

    private static string WebhookOf(HttpRequestMessage request) =>
        JsonNode.Parse(request.Content!.ReadAsStringAsync().GetAwaiter().GetResult())!["webhook"]!.GetValue<string>();

    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var i = 0; i < 3000 && !condition(); i++)
        {
            await Task.Delay(10, Token);
        }

        Assert.True(condition());
    }

    /// <summary>
    /// Lets the fake clock run, asserting the request count just before and at each expected delay. Each step first waits for the
    /// retry's timer to exist, so the clock never moves before the delay has started.
    /// </summary>
    private static async Task AssertDelaysAsync(TimerWatchingTime time, StubHandler stub, Task task, params double[] delaysSeconds)
    {
        for (var i = 0; i < delaysSeconds.Length; i++)
        {
            var delay = TimeSpan.FromSeconds(delaysSeconds[i]);
            var timersSoFar = delaysSeconds.Take(i + 1).Count(d => d == delaysSeconds[i]);
            await WaitForAsync(() => stub.Count == i + 1 && time.DueTimes.Count(d => d == delay) >= timersSoFar);
            time.Advance(delay - TimeSpan.FromMilliseconds(10));
            await Task.Delay(50, Token);
            Assert.Equal(i + 1, stub.Count);
            time.Advance(TimeSpan.FromMilliseconds(10));
        }

        await task.WaitAsync(TimeSpan.FromSeconds(30), Token);
    }

    /// <summary>A fake clock that remembers the due time of every timer started on it.</summary>
    private sealed class TimerWatchingTime() : FakeTimeProvider(DateTimeOffset.UtcNow)
    {
        private readonly ConcurrentQueue<TimeSpan> dueTimes = new();

        public IReadOnlyCollection<TimeSpan> DueTimes => dueTimes;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            dueTimes.Enqueue(dueTime);
            return base.CreateTimer(callback, state, dueTime, period);
        }
    }

    private static Task<TestHost> StartAsync(StubHandler stub, TimerWatchingTime? time = null, params (string, string?)[] settings) =>
        TestHost.StartAsync(Api, new Dictionary<string, string?>(settings.Select(s => KeyValuePair.Create(s.Item1, s.Item2)))
        {
            ["Replicate:RetryDelay"] = "00:00:01",
        }, stub, builder =>
        {
            if (time is not null)
            {
                builder.Services.AddSingleton<TimeProvider>(time);
            }
        });

    [Fact]
    public async Task A_429_is_resent_after_exactly_its_retry_after()
    {
        var time = new TimerWatchingTime();
        var stub = new StubHandler((_, n) => n == 1 ? StubHandler.Json(429, """{"detail":"throttled"}""", TimeSpan.FromSeconds(7)) : StubHandler.Json(201, PredictionJson("p1")));
        await using var host = await StartAsync(stub, time);

        var create = host.Get<SafeCreate>().CreateAsync(Model, new JsonObject(), new(), Token);

        await AssertDelaysAsync(time, stub, create, 7);
        Assert.Equal("p1", (await create).Id);
    }

    [Fact]
    public async Task Without_retry_after_the_delays_double_from_one_second_up_to_the_cap()
    {
        var time = new TimerWatchingTime();
        var stub = new StubHandler((_, n) => n <= 4 ? StubHandler.Json(429, """{"detail":"throttled"}""") : StubHandler.Json(201, PredictionJson("p1")));
        await using var host = await StartAsync(stub, time, ("REPLICATE_MAX_RETRIES", "4"), ("Replicate:MaxRetryDelay", "00:00:03"));

        var create = host.Get<SafeCreate>().CreateAsync(Model, new JsonObject(), new(), Token);

        await AssertDelaysAsync(time, stub, create, 1, 2, 3, 3);
        Assert.Equal(5, stub.Count);
    }

    [Fact]
    public async Task Retries_stop_at_the_limit()
    {
        var stub = new StubHandler((_, _) => StubHandler.Json(429, """{"detail":"throttled"}""", TimeSpan.Zero));
        await using var host = await StartAsync(stub, null, ("REPLICATE_MAX_RETRIES", "2"));

        var error = await Assert.ThrowsAsync<ReplicateException>(() => host.Get<SafeCreate>().CreateAsync(Model, new JsonObject(), new(), Token));

        Assert.Equal(ErrorCategory.RateLimit, error.Category);
        Assert.Equal(3, stub.Count);
    }

    [Fact]
    public async Task After_a_500_it_looks_first_and_adopts_what_the_lost_attempt_made()
    {
        string? marked = null;
        var stub = new StubHandler((request, _) => request.Method == HttpMethod.Post
            ? Lost(marked = WebhookOf(request))
            : StubHandler.Json(200, $$"""{"next":null,"previous":null,"results":[{{PredictionJson("made")}},{{PredictionJson("other", input: """{"prompt":"q"}""")}}]}"""));
        await using var host = await StartAsync(stub, null, ("Replicate:RetryDelay", "00:00:00.010"));

        var prediction = await host.Get<SafeCreate>().CreateAsync(Model, Input(), new(Webhook: Webhook), Token);

        Assert.Equal("made", prediction.Id);
        Assert.StartsWith(Webhook.AbsoluteUri + "&pinglass_attempt=", marked, StringComparison.Ordinal);
        Assert.Equal(["POST", "GET"], host.Requests.All.Select(r => r.Method));
        Assert.Contains("created_after=", host.Requests.All[1].PathAndQuery, StringComparison.Ordinal);
    }

    [Fact]
    public async Task After_a_500_that_made_nothing_it_creates_again_with_the_same_marker()
    {
        var markers = new List<string>();
        var stub = new StubHandler((request, n) => request.Method == HttpMethod.Get
            ? StubHandler.Json(200, """{"next":null,"previous":null,"results":[]}""")
            : Record(markers, WebhookOf(request), n == 1 ? StubHandler.Json(500, "{}") : StubHandler.Json(201, PredictionJson("second"))));
        await using var host = await StartAsync(stub, null, ("Replicate:RetryDelay", "00:00:00.010"));

        var prediction = await host.Get<SafeCreate>().CreateAsync(Model, new JsonObject(), new(Webhook: Webhook), Token);

        Assert.Equal("second", prediction.Id);
        Assert.Equal(["POST", "GET", "POST"], host.Requests.All.Select(r => r.Method));
        Assert.Equal(2, markers.Count);
        Assert.Single(markers.Distinct());
    }

    [Fact]
    public async Task When_retries_run_out_after_an_ambiguous_outcome_it_still_adopts()
    {
        var stub = new StubHandler((request, _) => request.Method == HttpMethod.Post
            ? StubHandler.Json(503, "{}")
            : StubHandler.Json(200, $$"""{"next":null,"previous":null,"results":[{{PredictionJson("late")}}]}"""));
        await using var host = await StartAsync(stub, null, ("REPLICATE_MAX_RETRIES", "0"));

        Assert.Equal("late", (await host.Get<SafeCreate>().CreateAsync(Model, Input(), new(Webhook: Webhook), Token)).Id);
    }

    [Fact]
    public async Task Two_predictions_from_lost_attempts_become_one_adopted_and_one_canceled()
    {
        var markers = new List<string>();
        var stub = new StubHandler((request, _) =>
        {
            if (request.Method == HttpMethod.Post && request.RequestUri!.AbsolutePath.EndsWith("/cancel", StringComparison.Ordinal))
            {
                return StubHandler.Json(200, PredictionJson("newer", status: "canceled"));
            }

            return request.Method == HttpMethod.Post
                ? Record(markers, WebhookOf(request), StubHandler.Json(504, "{}"))
                : StubHandler.Json(200, markers.Count < 2
                    ? """{"next":null,"previous":null,"results":[]}"""
                    : $$"""{"next":null,"previous":null,"results":[{{PredictionJson("newer")}},{{PredictionJson("older")}}]}""");
        });
        await using var host = await StartAsync(stub, null, ("Replicate:RetryDelay", "00:00:00.010"));

        var prediction = await host.Get<SafeCreate>().CreateAsync(Model, Input(), new(Webhook: Webhook), Token);

        Assert.Equal("older", prediction.Id);
        Assert.Equal("/v1/predictions/newer/cancel", host.Requests.All[^1].PathAndQuery);
    }

    [Fact]
    public async Task The_prediction_of_the_same_model_and_input_is_adopted_whatever_its_key_order_number_form_or_webhook()
    {
        // Only fields the published schema lists in list results are read: a webhook naming another attempt does not make it someone
        // else's, and one naming this create does not make another model's or another input's prediction ours.
        var stub = new StubHandler((request, _) => request.Method == HttpMethod.Post
            ? Lost(null)
            : StubHandler.Json(200, $$"""
                {"next":null,"previous":null,"results":[
                {{PredictionJson("another-input", webhook: $"{Webhook.AbsoluteUri}&pinglass_attempt=mine", input: """{"prompt":"q","width":512,"seed":7}""")}},
                {{PredictionJson("another-model", input: """{"prompt":"p","width":512,"seed":7}""").Replace("bytedance/flux-pulid", "grandlineai/instant-id-photorealistic")}},
                {{PredictionJson("ours", webhook: $"{Webhook.AbsoluteUri}&pinglass_attempt=someone-else", input: """{"seed":7.0,"width":512,"prompt":"p"}""")}}]}
                """));
        await using var host = await StartAsync(stub, null, ("Replicate:RetryDelay", "00:00:00.010"));

        var prediction = await host.Get<SafeCreate>().CreateAsync(Model, new JsonObject { ["prompt"] = "p", ["width"] = 512, ["seed"] = 7 },
            new(Webhook: Webhook), Token, new CreateKey("mine", DateTimeOffset.UtcNow, Resumed: false));

        Assert.Equal("ours", prediction.Id);
    }

    [Fact]
    public async Task A_prediction_another_create_holds_is_neither_adopted_nor_cancelled()
    {
        // Two attempts of one portrait with the person's own seed send the same input: the older one's prediction is its own.
        var stub = new StubHandler((request, _) => request.Method == HttpMethod.Post
            ? Lost(null)
            : StubHandler.Json(200, $$"""{"next":null,"previous":null,"results":[{{PredictionJson("mine")}},{{PredictionJson("held-by-attempt-1")}}]}"""));
        await using var host = await StartAsync(stub, null, ("Replicate:RetryDelay", "00:00:00.010"));

        var prediction = await host.Get<SafeCreate>().CreateAsync(Model, Input(), new(Webhook: Webhook), Token,
            new CreateKey("g-0-2", DateTimeOffset.UtcNow, Resumed: false, Claimed: (id, _) => Task.FromResult(id == "held-by-attempt-1")));

        Assert.Equal("mine", prediction.Id);
        Assert.DoesNotContain(host.Requests.All, r => r.PathAndQuery.EndsWith("/cancel", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(InputContest.Older, null, false)]
    [InlineData(InputContest.OnlyNewer, "older", false)]
    [InlineData(InputContest.None, "older", true)]
    public async Task Another_attempt_of_the_same_input_still_waiting_decides_who_adopts_and_whether_anything_is_cancelled(InputContest contest,
        string? adopted, bool cancels)
    {
        // instant-id takes no seed, and a person may fix one: two attempts can send the same input, and both may have lost their answer.
        var stub = new StubHandler((request, _) => request.Method == HttpMethod.Post
            ? request.RequestUri!.AbsolutePath.EndsWith("/cancel", StringComparison.Ordinal) ? StubHandler.Json(200, PredictionJson("newer", status: "canceled")) : Lost(null)
            : StubHandler.Json(200, $$"""{"next":null,"previous":null,"results":[{{PredictionJson("newer")}},{{PredictionJson("older")}}]}"""));
        await using var host = await StartAsync(stub, null, ("Replicate:RetryDelay", "00:00:00.010"), ("REPLICATE_MAX_RETRIES", "1"));
        var key = new CreateKey("g-1-2", DateTimeOffset.UtcNow, Resumed: true, Contest: _ => Task.FromResult(contest));

        var create = host.Get<SafeCreate>().CreateAsync(Model, Input(), new(Webhook: Webhook), Token, key);

        if (adopted is null)
        {
            // Not its turn: neither adopted nor sent; resumed later, when the older one has taken its own.
            await Assert.ThrowsAsync<CreateOutcomeUnknownException>(() => create);
            Assert.DoesNotContain(host.Requests.All, r => r.Method == "POST");
        }
        else
        {
            Assert.Equal(adopted, (await create).Id);
        }

        Assert.Equal(cancels, host.Requests.All.Any(r => r.PathAndQuery.EndsWith("/cancel", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData(120, true)]
    [InlineData(1, false)]
    public async Task A_prediction_whose_input_replicate_removed_makes_a_late_search_unknown_and_is_ignored_by_a_recent_one(int minutesAgo, bool unknown)
    {
        // Replicate removes an API prediction's input after an hour: a search that late cannot tell whether it was this create's.
        var stub = new StubHandler((request, _) => request.Method == HttpMethod.Post
            ? StubHandler.Json(201, PredictionJson("sent"))
            : StubHandler.Json(200, $$"""{"next":null,"previous":null,"results":[{{PredictionJson("removed", status: "succeeded", input: "{}", dataRemoved: true)}}]}"""));
        await using var host = await StartAsync(stub);
        var key = new CreateKey("g-3-1", DateTimeOffset.UtcNow.AddMinutes(-minutesAgo), Resumed: true);

        var create = host.Get<SafeCreate>().CreateAsync(Model, Input(), new(Webhook: Webhook), Token, key);

        if (unknown)
        {
            await Assert.ThrowsAsync<CreateOutcomeUnknownException>(() => create);
            Assert.DoesNotContain(host.Requests.All, r => r.Method == "POST");
        }
        else
        {
            Assert.Equal("sent", (await create).Id);
        }
    }

    [Fact]
    public async Task A_refused_connection_is_resent_without_looking()
    {
        var stub = new StubHandler((_, n) => n == 1
            ? throw new HttpRequestException("refused", new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionRefused))
            : StubHandler.Json(201, PredictionJson("p1")));
        await using var host = await StartAsync(stub, null, ("Replicate:RetryDelay", "00:00:00.010"));

        await host.Get<SafeCreate>().CreateAsync(Model, new JsonObject(), new(Webhook: Webhook), Token);

        Assert.Equal(2, stub.Count);
        Assert.All(host.Requests.All, r => Assert.Equal("POST", r.Method));
    }

    [Fact]
    public async Task A_resumed_create_looks_first_and_adopts_what_the_crashed_worker_made_without_sending_another()
    {
        var marker = "gen-3-1";
        var stub = new StubHandler((request, _) => request.Method == HttpMethod.Post
            ? StubHandler.Json(201, PredictionJson("duplicate"))
            : StubHandler.Json(200, $$"""{"next":null,"previous":null,"results":[{{PredictionJson("made-before-the-crash")}}]}"""));
        await using var host = await StartAsync(stub);

        var prediction = await host.Get<SafeCreate>().CreateAsync(Model, Input(), new(Webhook: Webhook), Token,
            new CreateKey(marker, DateTimeOffset.UtcNow.AddMinutes(-1), Resumed: true));

        Assert.Equal("made-before-the-crash", prediction.Id);
        Assert.Equal(["GET"], host.Requests.All.Select(r => r.Method));
    }

    [Fact]
    public async Task A_create_whose_hold_was_taken_over_while_it_waited_sends_nothing_more()
    {
        var stub = new StubHandler((_, _) => StubHandler.Json(429, """{"detail":"throttled"}""", TimeSpan.Zero));
        await using var host = await StartAsync(stub, null, ("Replicate:RetryDelay", "00:00:00.010"));
        var holds = 0;

        // Held for the first send (throttled); by the retry another worker has taken the create over.
        var refused = await Assert.ThrowsAsync<CreateTakenOverException>(() => host.Get<SafeCreate>().CreateAsync(Model, new JsonObject(),
            new(Webhook: Webhook), Token, new CreateKey("gen-5-1", DateTimeOffset.UtcNow, Resumed: false, Hold: _ => Task.FromResult(++holds == 1))));

        Assert.Equal(("gen-5-1", 2, 1), (refused.Marker, holds, stub.Count));
    }

    [Fact]
    public async Task A_create_whose_answers_and_search_all_failed_is_left_to_resume_not_given_up()
    {
        // Replicate answers nothing but 503s: each create may have made a prediction, and the search cannot say.
        var stub = new StubHandler((_, _) => StubHandler.Json(503, """{"detail":"unavailable"}"""));
        await using var host = await StartAsync(stub, null, ("Replicate:RetryDelay", "00:00:00.010"));

        var unknown = await Assert.ThrowsAsync<CreateOutcomeUnknownException>(() => host.Get<SafeCreate>().CreateAsync(Model, new JsonObject(),
            new(Webhook: Webhook), Token, new CreateKey("gen-6-1", DateTimeOffset.UtcNow, Resumed: false)));

        Assert.Equal("gen-6-1", unknown.Marker);
        Assert.Equal("GET", host.Requests.All[^1].Method);
    }

    [Fact]
    public async Task A_search_whose_pages_never_end_is_an_unknown_outcome_and_nothing_is_sent()
    {
        // Every page says the next is the same one: the window is never read to its end, so "not found" would be a guess.
        var stub = new StubHandler((request, _) => request.Method == HttpMethod.Post
            ? StubHandler.Json(201, PredictionJson("duplicate"))
            : StubHandler.Json(200, $$"""{"next":"https://api.replicate.test/v1/predictions?cursor=c2FtZQ","previous":null,"results":[{{PredictionJson("someone-elses")}}]}"""));
        await using var host = await StartAsync(stub);

        var unknown = await Assert.ThrowsAsync<CreateOutcomeUnknownException>(() => host.Get<SafeCreate>().CreateAsync(Model, new JsonObject(),
            new(Webhook: Webhook), Token, new CreateKey("gen-8-1", DateTimeOffset.UtcNow, Resumed: true)));

        // The window's first page, then the page that names itself as the next: no create.
        Assert.Equal("gen-8-1", unknown.Marker);
        Assert.Equal(["GET", "GET"], host.Requests.All.Select(r => r.Method));
    }

    [Fact]
    public async Task A_resumed_create_that_finds_nothing_creates_with_the_callers_marker()
    {
        var markers = new List<string>();
        var stub = new StubHandler((request, _) => request.Method == HttpMethod.Post
            ? Record(markers, WebhookOf(request), StubHandler.Json(201, PredictionJson("p1")))
            : StubHandler.Json(200, """{"next":null,"previous":null,"results":[]}"""));
        await using var host = await StartAsync(stub);

        await host.Get<SafeCreate>().CreateAsync(Model, new JsonObject(), new(Webhook: Webhook), Token,
            new CreateKey("gen-4-2", DateTimeOffset.UtcNow, Resumed: true));

        Assert.Equal(["GET", "POST"], host.Requests.All.Select(r => r.Method));
        Assert.EndsWith("&pinglass_attempt=gen-4-2", Assert.Single(markers), StringComparison.Ordinal);
    }

    [Fact]
    public void A_fingerprint_is_the_inputs_whatever_its_key_order_or_number_form_and_a_seed_is_the_markers()
    {
        var sent = InputFingerprint.Of(new JsonObject { ["prompt"] = "p", ["id_weight"] = 1, ["size"] = new JsonArray(1, 2) });

        Assert.Equal(sent, InputFingerprint.Of(JsonDocument.Parse("""{"size":[1.0,2],"id_weight":1.0,"prompt":"p"}""").RootElement));
        Assert.NotEqual(sent, InputFingerprint.Of(JsonDocument.Parse("""{"size":[2,1],"id_weight":1,"prompt":"p"}""").RootElement));
        Assert.NotEqual(sent, InputFingerprint.Of(JsonDocument.Parse("""{"size":[1,2],"id_weight":1,"prompt":"p "}""").RootElement));
        Assert.Equal(InputFingerprint.SeedFor("g-1-2"), InputFingerprint.SeedFor("g-1-2"));
        Assert.NotEqual(InputFingerprint.SeedFor("g-1-2"), InputFingerprint.SeedFor("g-1-3"));
        Assert.InRange(InputFingerprint.SeedFor(Guid.NewGuid().ToString("N")), 0, int.MaxValue);

        // Integers past a double's 2^53 stay apart; 1e0 is 1; what cannot be read is no match, never an exception.
        Assert.NotEqual(InputFingerprint.Of(JsonDocument.Parse("""{"seed":9007199254740993}""").RootElement),
            InputFingerprint.Of(JsonDocument.Parse("""{"seed":9007199254740992}""").RootElement));
        Assert.True(InputFingerprint.Matches(JsonDocument.Parse("""{"seed":1e0}""").RootElement, InputFingerprint.Of(new JsonObject { ["seed"] = 1 })));
        Assert.False(InputFingerprint.Matches(JsonDocument.Parse("""{"prompt":"\ud800"}""").RootElement, sent));
        Assert.False(InputFingerprint.Matches(JsonDocument.Parse("""{"seed":1e400}""").RootElement, sent));
        Assert.False(InputFingerprint.Matches(JsonDocument.Parse("[]").RootElement, sent));
    }

    /// <summary>The server acted, but the answer never arrived.</summary>
    private static HttpResponseMessage Lost(string? _) => throw new HttpRequestException("The connection was reset.");

    private static HttpResponseMessage Record(List<string> markers, string webhook, HttpResponseMessage response)
    {
        markers.Add(webhook);
        return response;
    }
}
