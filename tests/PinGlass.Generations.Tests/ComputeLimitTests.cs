using PinGlass.Generations.Persistence;
using PinGlass.Generations.Portraits;
using PinGlass.Replicate.Client;
using PinGlass.Replicate.Errors;

namespace PinGlass.Generations.Tests;

/// <summary>
/// When a running time-billed prediction is asked about, given more of the budget, or stopped at the compute its reservation pays for
/// (#13 item 5). flux-pulid's price: $0.0014 a second, 24 s reserved ($0.0336), a 2 s margin: it may compute 22 s.
/// </summary>
public sealed class ComputeLimitTests
{
    private const decimal PerSecond = 0.0014m;
    private static readonly DateTimeOffset Created = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Lead = TimeSpan.FromMilliseconds(500);

    private static PredictionRow Running(DateTimeOffset? started = null, DateTimeOffset? lastNews = null, decimal reserved = 0.0336m,
        DateTimeOffset? overran = null) => new(
        Guid.Empty, 3, 1, "m-1", "flux-pulid", "bytedance/flux-pulid", 0, "p-1", PredictionState.Processing, 0, null, null, Created,
        Created.AddSeconds(1), lastNews ?? Created.AddSeconds(1), null, null, null, reserved, StartedAt: started, OverranAt: overran);

    private static readonly TimeSpan RunLimit = TimeSpan.FromMinutes(2);

    private static ComputeStep Decide(PredictionRow prediction, DateTimeOffset now, decimal? perSecond = PerSecond, double scale = 1) =>
        ComputeLimit.Decide(prediction, perSecond, Margin, scale, Lead, RunLimit, now);

    [Fact]
    public void A_prediction_ended_or_not_yet_created_is_left_alone()
    {
        var late = Created.AddHours(1);
        Assert.IsType<ComputeStep.None>(Decide(Running(Created) with { Status = PredictionState.Succeeded }, late));
        Assert.IsType<ComputeStep.None>(Decide(Running(Created) with { PredictionId = null, Status = PredictionState.Creating }, late));
        // Replicate said it ended and its output is being taken in (or the take-in was put off): nothing is left to cancel, even one
        // marked to stop.
        Assert.IsType<ComputeStep.None>(Decide(Running(Created, overran: Created.AddSeconds(22)) with { TakeInUntil = late }, late));
        Assert.IsType<ComputeStep.None>(Decide(Running(Created, overran: Created.AddSeconds(22)) with { TakeInTries = 1 }, late));
    }

    [Fact]
    public void Until_it_is_known_to_have_started_it_is_asked_about_every_half_of_what_it_may_compute()
    {
        // Last news 1 s after creation; it may compute 22 s: asked at 12 s, not before.
        Assert.IsType<ComputeStep.None>(Decide(Running(), Created.AddSeconds(11.9)));
        Assert.IsType<ComputeStep.Look>(Decide(Running(), Created.AddSeconds(12)));
        // Asked at 12 s and still starting (a cold boot): asked again 11 s later.
        Assert.IsType<ComputeStep.None>(Decide(Running(lastNews: Created.AddSeconds(12)), Created.AddSeconds(22.9)));
        Assert.IsType<ComputeStep.Look>(Decide(Running(lastNews: Created.AddSeconds(12)), Created.AddSeconds(23)));
    }

    [Fact]
    public void A_started_prediction_is_dealt_with_a_look_before_it_reaches_what_its_reservation_pays_less_the_margin()
    {
        var started = Created.AddSeconds(30); // after a cold boot: the boot is not billed, and not counted
        Assert.IsType<ComputeStep.None>(Decide(Running(started), started.AddSeconds(21.4)));
        Assert.Equal(new ComputeStep.Extend(started.AddSeconds(22)), Decide(Running(started), started.AddSeconds(21.5)));
        Assert.Equal(new ComputeStep.Extend(started.AddSeconds(22)), Decide(Running(started), started.AddSeconds(40)));
    }

    [Fact]
    public void A_prediction_billed_per_image_is_stopped_at_its_run_limit_counted_from_its_start_not_its_creation()
    {
        var started = Created.AddMinutes(4); // a four-minute cold boot: neither billed nor counted
        Assert.IsType<ComputeStep.None>(Decide(Running(started), started.AddMinutes(1), perSecond: null));
        Assert.IsType<ComputeStep.None>(Decide(Running(started), started + RunLimit - Lead - TimeSpan.FromMilliseconds(1), perSecond: null));
        Assert.Equal(new ComputeStep.Stop(started + RunLimit), Decide(Running(started), started + RunLimit - Lead, perSecond: null));
        Assert.Equal(new ComputeStep.Stop(started + RunLimit), Decide(Running(started), Created.AddHours(1), perSecond: null));
    }

    [Fact]
    public void Until_one_billed_per_image_is_known_to_have_started_it_is_asked_about_every_half_of_its_run_limit()
    {
        Assert.IsType<ComputeStep.None>(Decide(Running(), Created.AddSeconds(60.9), perSecond: null));
        Assert.IsType<ComputeStep.Look>(Decide(Running(), Created.AddSeconds(61), perSecond: null));
        // Still booting at 61 s: no limit is near, it is asked again a minute later.
        Assert.IsType<ComputeStep.None>(Decide(Running(lastNews: Created.AddSeconds(61)), Created.AddSeconds(120), perSecond: null));
        Assert.IsType<ComputeStep.Look>(Decide(Running(lastNews: Created.AddSeconds(61)), Created.AddSeconds(121), perSecond: null));
    }

    [Fact]
    public void A_time_billed_prediction_whose_budget_outlasts_its_run_limit_is_stopped_at_the_run_limit_without_more_budget()
    {
        var started = Created.AddSeconds(2);
        // $0.1764 = 126 s of compute, 124 s less the margin: past the 120 s run limit, which comes first.
        Assert.IsType<ComputeStep.None>(Decide(Running(started, reserved: 0.1764m), started.AddSeconds(119)));
        Assert.Equal(new ComputeStep.Stop(started + RunLimit), Decide(Running(started, reserved: 0.1764m), started.AddSeconds(119.5)));
        // A run limit shorter than the reservation's compute: stopped then, not extended.
        Assert.Equal(new ComputeStep.Stop(started.AddSeconds(10)),
            ComputeLimit.Decide(Running(started), PerSecond, Margin, 1, Lead, TimeSpan.FromSeconds(10), started.AddSeconds(9.5)));
    }

    [Fact]
    public void A_reservation_that_grew_lets_it_compute_longer()
    {
        var started = Created.AddSeconds(2);
        // $0.0504 = 36 s of compute: 34 s less the margin.
        Assert.IsType<ComputeStep.None>(Decide(Running(started, reserved: 0.0504m), started.AddSeconds(30)));
        Assert.Equal(new ComputeStep.Extend(started.AddSeconds(34)), Decide(Running(started, reserved: 0.0504m), started.AddSeconds(33.5)));
    }

    [Fact]
    public void Against_a_time_scaled_endpoint_the_limit_is_in_its_clock()
    {
        var started = Created.AddSeconds(2);
        // 20× faster: 22 s of Replicate time is 1.1 s here.
        Assert.Equal(new ComputeStep.Extend(started.AddSeconds(1.1)), Decide(Running(started), started.AddSeconds(1), scale: 20));
    }

    [Fact]
    public void A_prediction_marked_to_stop_that_has_not_ended_is_cancelled_again_at_the_next_look()
    {
        var marked = Created.AddSeconds(25);
        Assert.IsType<ComputeStep.None>(Decide(Running(Created.AddSeconds(2), overran: marked), marked.AddSeconds(0.4)));
        Assert.IsType<ComputeStep.CancelAgain>(Decide(Running(Created.AddSeconds(2), overran: marked), marked.AddSeconds(0.5)));
    }

    [Fact]
    public void A_prediction_cancelled_at_its_limit_is_a_passing_timeout_and_any_other_cancel_the_models_failure()
    {
        var canceled = new Prediction("p-1", "bytedance/flux-pulid", "v", PredictionStatus.Canceled);
        var stopped = ComputeLimit.Classify(Running(Created, overran: Created.AddSeconds(22)), canceled);
        Assert.Equal(ErrorCategory.Timeout, stopped.Category);
        Assert.True(ErrorPolicy.IsRetryable(stopped.Category!.Value));
        Assert.Equal(ErrorCategory.ModelError, ComputeLimit.Classify(Running(Created), canceled).Category);

        // It delivered before the cancel reached it: delivered.
        var succeeded = canceled with { Status = PredictionStatus.Succeeded, Output = System.Text.Json.JsonDocument.Parse("\"https://replicate.delivery/x.webp\"").RootElement };
        Assert.Null(ComputeLimit.Classify(Running(Created, overran: Created.AddSeconds(22)), succeeded).Category);
    }
}
