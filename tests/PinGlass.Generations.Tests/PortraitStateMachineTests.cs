using System.Text.RegularExpressions;
using PinGlass.Generations.Persistence;
using PinGlass.Generations.Portraits;
using static PinGlass.Generations.Portraits.PortraitDecision;

namespace PinGlass.Generations.Tests;

/// <summary>
/// Every transition of the portrait state machine, in milliseconds without servers; each is a row of docs/architecture.md's table,
/// which these tests read, so the table and the code cannot drift apart.
/// </summary>
public sealed partial class PortraitStateMachineTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private static readonly ProviderOption[] Chain =
    [
        new("flux-pulid", 0.0336m, true), new("flux-kontext-pro", 0.04m, true), new("instant-id", 0.05m, true),
    ];

    private static GenerationRow Generation(decimal budget = 0.80m, decimal spent = 0, decimal reserved = 0) => new(
        Guid.Empty, GenerationStatus.Running, 23, 0, 0, 0, budget, 0.5m, spent, false, 23, 0, 0, "{}", "[]", "[{},{},{},{},{}]", Now.AddMinutes(-1),
        Now, Now.AddMinutes(30), null, null, 1, null, [], reserved);

    private static PortraitRow Portrait(PortraitStatus status = PortraitStatus.Running, int attempt = 1, int chainStart = 1, int regenerations = 0,
        string? refusedBlob = null, bool replacing = false) => new(
        Guid.Empty, 7, "studio", 0, status, attempt, chainStart, null, null, 0, null, 0, null, null, refusedBlob, null, Now.AddSeconds(-30), null,
        regenerations, null, null, null, null, false, replacing);

    private static PredictionRow Attempt(int attempt, string provider, PredictionState state, string? predictionId = "p", string? category = null,
        IdentityCheck? identity = null) => new(
        Guid.Empty, 7, attempt, $"m-{attempt}", provider, $"{provider}/model", 2, predictionId, state, 0.02m, category, category is null ? null : "it broke",
        Now.AddSeconds(-20), Now.AddSeconds(-19), Now, state == PredictionState.Succeeded ? $"blob-{attempt}" : null,
        state == PredictionState.Succeeded ? "image/png" : null, identity, 0);

    private static PortraitSituation Situation(PortraitRow? portrait = null, GenerationRow? generation = null, PredictionRow[]? attempts = null,
        ProviderOption[]? chain = null, DateTimeOffset? now = null) =>
        new(generation ?? Generation(), portrait ?? Portrait(), attempts ?? [], chain ?? Chain, 5, now ?? Now);

    private static GenerationRow Stopped => Generation() with { CancelRequestedAt = Now.AddSeconds(-1) };

    private static GenerationRow RefusedAccount => Generation() with { StopCategory = "billing", StopError = "Billing required" };

    private static readonly IdentityCheck Refused = new(IdentityCheck.Regenerate, "another_person", 0.8, 3, 1.3);

    private static readonly PredictionRow FailedPulid = Attempt(1, "flux-pulid", PredictionState.Failed, category: "model_error");

    /// <summary>A create Replicate throttled (429) until the client's own retries ran out.</summary>
    private static PredictionRow Throttled(int attempt, string provider = "flux-pulid") =>
        Attempt(attempt, provider, PredictionState.NotCreated, predictionId: null, category: "rate_limit");

    /// <summary>Each provider of the chain, in turn from attempt <paramref name="from"/>, failed for good (the model failed, twice over).</summary>
    private static PredictionRow[] FailedEveryProvider(int from) =>
        [.. Chain.Concat(Chain).Select((p, i) => Attempt(from + i, p.Name, PredictionState.Failed, category: "model_error"))];

    /// <summary>One situation per row of the table in docs/architecture.md, by its id.</summary>
    private static readonly Dictionary<string, Func<PortraitDecision>> Transitions = new()
    {
        ["T1"] = () => Decide(Situation(Portrait(PortraitStatus.Succeeded))),
        ["T2"] = () => Decide(Situation(Portrait(PortraitStatus.Pending, attempt: 0))),
        ["T3"] = () => Decide(Situation(Portrait(PortraitStatus.Pending, attempt: 0), Stopped)),
        ["T4"] = () => Decide(Situation(Portrait(PortraitStatus.Pending, attempt: 0), now: Now.AddHours(1))),
        ["T5"] = () => Decide(Situation()),
        ["T6"] = () => Decide(Situation(generation: Generation() with { Status = GenerationStatus.Completed })),
        ["T7"] = () => Decide(Situation(now: Now.AddHours(1))),
        ["T8"] = () => Decide(Situation(generation: Generation(budget: 0.10m, spent: 0.05m, reserved: 0.0336m))),
        ["T9"] = () => Decide(Situation(generation: Generation(budget: 0.10m, spent: 0.08m))),
        ["T10"] = () => Decide(Situation(chain: [.. Chain.Select(p => p with { Available = false })])),
        ["T11"] = () => Decide(Situation(Portrait(attempt: 8, chainStart: 2, regenerations: 1, refusedBlob: "refused"), attempts:
            [Attempt(1, "flux-pulid", PredictionState.Succeeded, identity: Refused), .. FailedEveryProvider(from: 2)])),
        ["T12"] = () => Decide(Situation(attempts: [Attempt(1, "flux-pulid", PredictionState.Creating, predictionId: null)])),
        ["T13"] = () => Decide(Situation(generation: Stopped, attempts: [Attempt(1, "flux-pulid", PredictionState.Creating, predictionId: null)])),
        ["T14"] = () => Decide(Situation(attempts: [Attempt(1, "flux-pulid", PredictionState.Processing)])),
        ["T15"] = () => Decide(Situation(attempts: [Attempt(1, "flux-pulid", PredictionState.Succeeded, identity: new(IdentityCheck.Pass, "same_person", 0.2))])),
        ["T16"] = () => Decide(Situation(attempts: [Attempt(1, "flux-pulid", PredictionState.Succeeded, identity: Refused)])),
        ["T17"] = () => Decide(Situation(generation: Generation(budget: 0.05m, spent: 0.03m),
            attempts: [Attempt(1, "flux-pulid", PredictionState.Succeeded, identity: Refused)])),
        ["T18"] = () => Decide(Situation(attempts: [FailedPulid])),
        ["T19"] = () => Decide(Situation(generation: Generation(budget: 0.06m, spent: 0.03m), attempts: [FailedPulid])),
        ["T20"] = () => Decide(Situation(attempts: [Attempt(1, "flux-pulid", PredictionState.NotCreated, predictionId: null, category: "authentication")])),
        ["T21"] = () => Decide(Situation(Portrait(attempt: 6), attempts: FailedEveryProvider(from: 1))),
        ["T22"] = () => Decide(Situation(attempts: [Attempt(1, "flux-pulid", PredictionState.Aborted, category: "timeout")], now: Now.AddHours(1))),
        ["T23"] = () => Decide(Situation(generation: Stopped, attempts: [FailedPulid])),
        ["T24"] = () => Decide(Situation(Portrait(attempt: 7, chainStart: 2, regenerations: 1, refusedBlob: "refused"), attempts:
            [Attempt(1, "flux-pulid", PredictionState.Succeeded, identity: Refused), .. FailedEveryProvider(from: 2)])),
        ["T25"] = () => Decide(Situation(Portrait(attempt: 7), attempts: FailedEveryProvider(from: 1))),
        ["T26"] = () => Decide(Situation(Portrait(attempt: 2), attempts: [Throttled(1) with { CompletedAt = Now.AddSeconds(-1) }])),
        ["T27"] = () => Decide(Situation(attempts: [Throttled(1)])),
        ["T28"] = () => Decide(Situation(Portrait(attempt: 3), attempts:
            [Attempt(1, "flux-pulid", PredictionState.Failed, category: "validation"), Attempt(2, "flux-kontext-pro", PredictionState.Failed, category: "validation"),
             Attempt(3, "instant-id", PredictionState.NotCreated, predictionId: null, category: "server_error")])),
        ["T29"] = () => Decide(Situation(Portrait(attempt: 3), attempts:
            [FailedPulid, Attempt(2, "flux-kontext-pro", PredictionState.Failed, category: "safety"),
             Attempt(3, "instant-id", PredictionState.Failed, category: "model_error")])),
        ["T30"] = () => Decide(Situation(Portrait(attempt: 7, chainStart: 2, refusedBlob: "delivered", replacing: true), attempts:
            [Attempt(1, "flux-pulid", PredictionState.Succeeded), .. FailedEveryProvider(from: 2)])),
        ["T31"] = () => Decide(Situation(Portrait(refusedBlob: "delivered", replacing: true), generation: Generation(budget: 0.05m, spent: 0.03m),
            attempts: [Attempt(1, "flux-pulid", PredictionState.Succeeded, identity: Refused)])),
        ["S1"] = () => PortraitStateMachine.DecideStop(Portrait(), Stopped),
        ["S2"] = () => PortraitStateMachine.DecideStop(Portrait(PortraitStatus.Pending, attempt: 0), Generation()),
        ["S3"] = () => PortraitStateMachine.DecideStop(Portrait(regenerations: 1, refusedBlob: "refused"), Generation()),
        ["S4"] = () => PortraitStateMachine.DecideStop(Portrait(PortraitStatus.Pending, attempt: 0), RefusedAccount),
        ["S5"] = () => PortraitStateMachine.DecideStop(Portrait(refusedBlob: "delivered", replacing: true), Stopped),
    };

    private static PortraitDecision Decide(PortraitSituation situation) => PortraitStateMachine.Decide(situation);

    /// <summary>A decision as the table names it.</summary>
    private static string Name(PortraitDecision decision) => decision switch
    {
        Wait wait => $"Wait({wait.Reason})",
        Fail fail => $"Fail({fail.Reason})",
        DeliverRefused refused => $"DeliverRefused({refused.Reason})",
        Deliver { Identity.Flagged: true } => "Deliver(flagged)",
        _ => decision.GetType().Name,
    };

    public static TheoryData<string, string> Table => [.. DocumentedRows().Select(r => (r.Id, r.Decision))];

    [Theory]
    [MemberData(nameof(Table))]
    public void Each_documented_transition_is_what_the_code_decides(string id, string decision)
    {
        Assert.True(Transitions.TryGetValue(id, out var decide), $"{id} is in docs/architecture.md but has no situation here.");
        Assert.Equal(decision, Name(decide()));
    }

    [Fact]
    public void Every_situation_here_every_decision_and_every_wait_reason_is_in_the_table()
    {
        var rows = DocumentedRows();
        Assert.Equal(Transitions.Keys.Order(), rows.Select(r => r.Id).Order());
        var kinds = rows.Select(r => r.Decision.Split('(')[0]).ToHashSet();
        Assert.All(typeof(PortraitDecision).GetNestedTypes().Where(t => t.IsSubclassOf(typeof(PortraitDecision))), t => Assert.Contains(t.Name, kinds));
        Assert.All(Enum.GetValues<WaitReason>(), r => Assert.Contains($"Wait({r})", rows.Select(row => row.Decision)));
    }

    [Fact]
    public void A_submission_carries_the_provider_its_rotating_reference_and_its_worst_case()
    {
        var submit = Assert.IsType<Submit>(Decide(Situation(Portrait() with { Batch = 1 })));

        Assert.Equal(("flux-pulid", (1 + 7) % 5, 0.0336m), (submit.Provider, submit.ReferenceIndex, submit.Reservation));
        Assert.Equal(3, Assert.IsType<Submit>(Decide(Situation(Portrait() with { ReferenceIndex = 3 }))).ReferenceIndex);
    }

    [Fact]
    public void An_unavailable_or_already_tried_provider_is_skipped()
    {
        var chain = Chain.Select(p => p.Name == "flux-kontext-pro" ? p with { Available = false } : p).ToArray();

        var fallBack = Assert.IsType<FallBack>(Decide(Situation(attempts: [FailedPulid], chain: chain)));
        Assert.Equal(("flux-pulid", "instant-id"), (fallBack.From, fallBack.To));
        Assert.Equal("instant-id", Assert.IsType<Submit>(Decide(Situation(Portrait(attempt: 2), attempts: [FailedPulid], chain: chain))).Provider);
        // A new chain (a regeneration, or a retry on request) may use every provider again.
        Assert.Equal("flux-pulid", Assert.IsType<Submit>(Decide(Situation(Portrait(attempt: 2, chainStart: 2), attempts: [FailedPulid]))).Provider);
    }

    [Fact]
    public void A_regeneration_takes_the_gate_s_reference_and_id_weight()
    {
        var regenerate = Assert.IsType<Regenerate>(Transitions["T16"]());

        Assert.Equal((3, 1.3), (regenerate.ReferenceIndex, regenerate.IdWeight));
    }

    [Fact]
    public void A_budget_refusal_names_the_provider_it_could_not_hold()
    {
        Assert.Equal("flux-pulid", Assert.IsType<Fail>(Transitions["T9"]()).BudgetRefused);
        Assert.Equal("flux-kontext-pro", Assert.IsType<Fail>(Transitions["T19"]()).BudgetRefused);
        Assert.Null(Assert.IsType<Fail>(Transitions["T21"]()).BudgetRefused);
    }

    [Fact]
    public void A_portrait_every_provider_failed_for_good_ends_with_its_last_attempt_s_error()
    {
        var fail = Assert.IsType<Fail>(Transitions["T25"]());

        Assert.Equal(("model_error", "it broke"), (fail.Reason, fail.Message));
    }

    [Fact]
    public void Providers_that_are_unavailable_or_failed_for_a_passing_reason_make_it_wait_not_fail()
    {
        // The providers it has not tried are unavailable and the one it tried refused its input: it waits for them.
        var onlyPulid = Chain.Select(p => p with { Available = p.Name == "flux-pulid" }).ToArray();
        Assert.Equal(new Wait(WaitReason.ProviderUnavailable), Decide(Situation(Portrait(attempt: 2),
            attempts: [Attempt(1, "flux-pulid", PredictionState.Failed, category: "validation")], chain: onlyPulid)));

        // A failed prediction does not rule its model out on its own: with the others unavailable, the same one is asked again.
        Assert.Equal("flux-pulid", Assert.IsType<Submit>(Decide(Situation(Portrait(attempt: 2), attempts: [FailedPulid], chain: onlyPulid))).Provider);
        Assert.Equal(new Wait(WaitReason.ProviderUnavailable), Decide(Situation(Portrait(attempt: 3),
            attempts: [FailedPulid, Attempt(2, "flux-pulid", PredictionState.Failed, category: "safety")], chain: onlyPulid)));

        // A throttle keeps the provider (no fallback to a dearer model the same account limit throttles too), after the back-off.
        var throttled = Throttled(1) with { CompletedAt = Now.AddSeconds(-1) };
        Assert.Equal(new Retry("flux-pulid", Replicate.Errors.ErrorCategory.RateLimit, "it broke"), Decide(Situation(attempts: [throttled])));
        Assert.Equal(new Wait(WaitReason.Backoff), Decide(Situation(Portrait(attempt: 2), attempts: [throttled])));
        Assert.Equal("flux-pulid", Assert.IsType<Submit>(Decide(Situation(Portrait(attempt: 2), attempts: [throttled], now: Now.AddSeconds(1.5)))).Provider);

        // A throttled provider that has since become unavailable does not hold the portrait: another one takes over.
        Assert.Equal("flux-kontext-pro", Assert.IsType<FallBack>(Decide(Situation(attempts: [throttled],
            chain: [.. Chain.Select(p => p with { Available = p.Name != "flux-pulid" })]))).To);

        // Throttled again and again: the back-off doubles from the last one, up to 30 s; never a failure.
        PredictionRow[] again = [.. Enumerable.Range(1, 6).Select(a => Throttled(a) with { CompletedAt = Now })];
        Assert.Equal(new Wait(WaitReason.Backoff), Decide(Situation(Portrait(attempt: 7), attempts: again, now: Now.AddSeconds(29))));
        Assert.IsType<Submit>(Decide(Situation(Portrait(attempt: 7), attempts: again, now: Now.AddSeconds(30))));
    }

    [Fact]
    public void Passing_failures_rotate_through_the_chain_and_come_back_to_the_first_after_a_back_off()
    {
        PredictionRow Down(int attempt, string provider) =>
            Attempt(attempt, provider, PredictionState.NotCreated, predictionId: null, category: "server_error") with { CompletedAt = Now };

        Assert.Equal(new FallBack("flux-pulid", "flux-kontext-pro", Replicate.Errors.ErrorCategory.ServerError, "it broke"),
            Decide(Situation(attempts: [Down(1, "flux-pulid")])));
        PredictionRow[] all = [Down(1, "flux-pulid"), Down(2, "flux-kontext-pro"), Down(3, "instant-id")];
        Assert.Equal(new FallBack("instant-id", "flux-pulid", Replicate.Errors.ErrorCategory.ServerError, "it broke"),
            Decide(Situation(Portrait(attempt: 3), attempts: all)));
        Assert.Equal(new Wait(WaitReason.Backoff), Decide(Situation(Portrait(attempt: 4), attempts: all, now: Now.AddSeconds(1))));
        Assert.Equal("flux-pulid", Assert.IsType<Submit>(Decide(Situation(Portrait(attempt: 4), attempts: all, now: Now.AddSeconds(2)))).Provider);
    }

    [Theory]
    [InlineData(1, 2)]
    [InlineData(2, 4)]
    [InlineData(4, 16)]
    [InlineData(5, 30)]
    [InlineData(40, 30)]
    public void The_back_off_doubles_from_two_seconds_to_thirty(int failures, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), PortraitStateMachine.Backoff(failures));

    [Fact]
    public void Passing_trouble_taking_in_an_output_is_tried_again_after_a_back_off_while_tries_and_time_remain()
    {
        var look = TimeSpan.FromSeconds(20);
        Assert.Equal(TimeSpan.FromSeconds(2), PortraitStateMachine.TakeInRetry(Generation(), tries: 0, maxTries: 8, look, Now));
        Assert.Equal(TimeSpan.FromSeconds(16), PortraitStateMachine.TakeInRetry(Generation(), tries: 3, maxTries: 8, look, Now));
        Assert.Equal(TimeSpan.FromSeconds(30), PortraitStateMachine.TakeInRetry(Generation(), tries: 7, maxTries: 8, look, Now));

        // Out of tries, its generation stopped, or too close to its deadline for the back-off and the next look, twice over: taken in
        // as it stands (delivered unchecked, or the output given up), not left for the deadline to fail.
        Assert.Null(PortraitStateMachine.TakeInRetry(Generation(), tries: 8, maxTries: 8, look, Now));
        Assert.Null(PortraitStateMachine.TakeInRetry(Stopped, tries: 0, maxTries: 8, look, Now));
        Assert.Null(PortraitStateMachine.TakeInRetry(Generation(), tries: 0, maxTries: 8, look, Generation().Deadline.AddSeconds(-44)));
        Assert.NotNull(PortraitStateMachine.TakeInRetry(Generation(), tries: 0, maxTries: 8, look, Generation().Deadline.AddSeconds(-45)));
        Assert.Null(PortraitStateMachine.TakeInRetry(Generation(), tries: 0, maxTries: 0, look, Now));
    }

    [Fact]
    public void Replicate_refusing_the_account_stops_the_generation_and_no_portrait_of_it_creates_again()
    {
        Assert.True(PortraitStateMachine.StopsGeneration("authentication"));
        Assert.True(PortraitStateMachine.StopsGeneration("billing"));
        Assert.False(PortraitStateMachine.StopsGeneration("validation"));
        Assert.False(PortraitStateMachine.StopsGeneration("budget_exhausted"));

        // A stopped generation's portraits wait for the finalizer, whatever they were about to do; it ends them with the account's reason.
        Assert.Equal(new Wait(WaitReason.GenerationStopped), Decide(Situation(Portrait(PortraitStatus.Pending, attempt: 0), RefusedAccount)));
        Assert.Equal(new Wait(WaitReason.GenerationStopped), Decide(Situation(generation: RefusedAccount)));
        Assert.Equal(new Wait(WaitReason.GenerationStopped),
            Decide(Situation(generation: RefusedAccount, attempts: [Attempt(1, "flux-pulid", PredictionState.Creating, predictionId: null)])));
        var stop = Assert.IsType<Fail>(PortraitStateMachine.DecideStop(Portrait(), RefusedAccount));
        Assert.Equal(("billing", "The generation stopped: Billing required"), (stop.Reason, stop.Message));
        Assert.IsType<DeliverRefused>(PortraitStateMachine.DecideStop(Portrait(regenerations: 1, refusedBlob: "refused"), RefusedAccount));
    }

    [Fact]
    public void An_output_delivered_unchecked_is_delivered_flagged_as_unchecked()
    {
        var unchecked_ = IdentityCheck.Unchecked(IdentityCheck.FacesUnavailable);
        var delivered = Attempt(1, "flux-pulid", PredictionState.Succeeded, identity: unchecked_);

        Assert.Equal(new Deliver(unchecked_), Decide(Situation(attempts: [delivered])));
        Assert.True(unchecked_.Flagged);
    }

    [Fact]
    public void A_delivered_output_that_could_not_be_copied_is_a_failed_attempt()
    {
        var copyFailed = Attempt(1, "flux-pulid", PredictionState.Succeeded, category: "model_error") with { BlobName = null, ContentType = null };

        Assert.IsType<FallBack>(Decide(Situation(attempts: [copyFailed])));
    }

    private static List<(string Id, string Decision)> DocumentedRows()
    {
        var text = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "architecture.md"));
        var table = text[text.IndexOf("<!-- transitions -->", StringComparison.Ordinal)..text.IndexOf("<!-- /transitions -->", StringComparison.Ordinal)];
        return [.. RowPattern().Matches(table).Select(m => (m.Groups["id"].Value, m.Groups["decision"].Value.Trim()))];
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "PinGlass.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("PinGlass.sln not found above the test's folder.");
    }

    [GeneratedRegex(@"^\| (?<id>[TS]\d+) \|[^|]*\|[^|]*\|(?<decision>[^|]+)\|$", RegexOptions.Multiline)]
    private static partial Regex RowPattern();

    [Fact]
    public void A_prediction_pinglass_cancelled_itself_says_nothing_of_its_model()
    {
        var cancelled = Attempt(1, "flux-pulid", PredictionState.Cancelled);

        // Someone else's cancel of a running generation's prediction counts for the model's circuit; PinGlass's own never does.
        Assert.True(PredictionSettler.SaysSomethingOfTheModel(cancelled, Generation(), Now));
        Assert.False(PredictionSettler.SaysSomethingOfTheModel(cancelled, Stopped, Now));
        Assert.False(PredictionSettler.SaysSomethingOfTheModel(cancelled, RefusedAccount, Now));
        Assert.False(PredictionSettler.SaysSomethingOfTheModel(cancelled, Generation() with { Status = GenerationStatus.Cancelled }, Now));
        Assert.False(PredictionSettler.SaysSomethingOfTheModel(cancelled, Generation() with { ErasedAt = Now }, Now));
        Assert.False(PredictionSettler.SaysSomethingOfTheModel(cancelled, Generation(), Now.AddHours(1)));
        Assert.False(PredictionSettler.SaysSomethingOfTheModel(cancelled with { OverranAt = Now }, Generation(), Now));
        Assert.False(PredictionSettler.SaysSomethingOfTheModel(cancelled, null, Now));
    }
}
