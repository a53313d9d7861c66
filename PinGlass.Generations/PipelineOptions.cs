using System.ComponentModel.DataAnnotations;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using PinGlass.Generations.Planning;

namespace PinGlass.Generations;

/// <summary>
/// How generations run. Section <c>Pipeline</c>, plus the design's <c>REPLICATE_BUDGET_PER_GENERATION</c>, which wins over
/// <see cref="BudgetPerGeneration"/>.
/// </summary>
public sealed class PipelineOptions : IValidatableObject
{
    public const string Section = "Pipeline";
    public const string BudgetVariable = "REPLICATE_BUDGET_PER_GENERATION";

    private string? environmentError;

    /// <summary>
    /// Portraits submitted together; the next batch starts when one has finished. 0 (the default) puts every portrait in one batch,
    /// so all of them are in flight as soon as the create-rate limit allows. The design's batch loop is 3 with a 1 s delay.
    /// </summary>
    [Range(0, 100)]
    public int BatchSize { get; set; }

    /// <summary>Pause between batches (the design's is 1 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan BatchDelay { get; set; } = TimeSpan.Zero;

    /// <summary>A generation not finished by then is finalized as it stands: what is still running is cancelled and fails.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "06:00:00")]
    public TimeSpan Deadline { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How often a batch job looks at its portraits while it waits for them.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan WatchInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// With webhooks, how long after its last news a running prediction is asked about directly (a lost webhook). Without a webhook
    /// URL predictions are polled from the start, with backoff from <see cref="WatchInterval"/> up to this.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan WebhookGrace { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// How often passing trouble taking in a delivered output (its host answering 5xx, the faces service down or slow) is tried again,
    /// after back-offs of 2 s doubling to 30 s (at the next look at the prediction: each <see cref="WebhookGrace"/> at least), before
    /// the output is given up (the next provider makes the portrait) or delivered marked unchecked. The deadline ends the waiting sooner.
    /// </summary>
    [Range(0, 100)]
    public int TakeInTries { get; set; } = 8;

    /// <summary>
    /// A generation still queued this long after it was written, and never planned, is planned again by the reconciliation job: the Api
    /// stopped between writing it and enqueueing its plan job.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:05", "01:00:00")]
    public TimeSpan PlanGrace { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long one worker holds the right to send an attempt's create (its retries, and the look for what an ambiguous create made) and
    /// to take in a prediction's end (the output copy, the identity check): a worker killed while holding one leaves its attempt to
    /// the next worker after this.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:05", "01:00:00")]
    public TimeSpan CreateLease { get; set; } = TimeSpan.FromMinutes(5);

    /// <inheritdoc cref="CreateLease"/>
    [Range(typeof(TimeSpan), "00:00:05", "01:00:00")]
    public TimeSpan TakeInLease { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Hosts outputs may be fetched from (<c>*.</c> matches subdomains); Replicate serves them from replicate.delivery.</summary>
    public List<string> OutputHosts { get; set; } = ["replicate.delivery", "*.replicate.delivery"];

    [Range(1_000, 200_000_000)]
    public int MaxOutputBytes { get; set; } = 40_000_000;

    /// <summary>Fewest usable reference photos a generation starts with.</summary>
    [Range(1, 20)]
    public int MinUsablePhotos { get; set; } = 3;

    /// <summary>The budget of a generation whose request names none, in USD (<c>REPLICATE_BUDGET_PER_GENERATION</c>).</summary>
    [Range(typeof(decimal), "0.01", "1000")]
    public decimal BudgetPerGeneration { get; set; } = 0.80m;

    /// <summary>The most a request may set as its own budget.</summary>
    [Range(typeof(decimal), "0.01", "1000")]
    public decimal MaxBudgetPerGeneration { get; set; } = 5m;

    /// <summary>The design's per-image estimates, used before a generation starts: the estimate is checked against the budget.</summary>
    public Dictionary<string, decimal> EstimatedUsdPerImage { get; set; } = new(StringComparer.OrdinalIgnoreCase)
    {
        ["flux-pulid"] = 0.022m,
        ["flux-kontext-pro"] = 0.04m,
        ["instant-id"] = 0.03m,
        ["flux-multi-pulid"] = 0.022m,
    };

    /// <summary>
    /// The share of portraits the design expects to be made more than once (a failed prediction made again, elsewhere or on the same
    /// model): the estimate with retries is the estimate × (1 + this). It is reported beside the estimate; the budget check uses the
    /// estimate itself.
    /// </summary>
    [Range(typeof(decimal), "0", "1")]
    public decimal ExpectedRetryRate { get; set; } = 0.10m;

    /// <summary>
    /// The longest a time-billed prediction is expected to compute (Replicate time): its worst-case cost, reserved on the generation's
    /// budget before it is created, is this × the model's price per second. The defaults sit above the models' slowest images
    /// (flux-pulid 10–20 s) and keep all 23 of the design's portraits within $0.80.
    /// </summary>
    public Dictionary<string, TimeSpan> MaxPredictTime { get; set; } = new(StringComparer.OrdinalIgnoreCase)
    {
        ["flux-pulid"] = TimeSpan.FromSeconds(24),
        ["instant-id"] = TimeSpan.FromSeconds(24),
        ["flux-multi-pulid"] = TimeSpan.FromSeconds(30),
    };

    /// <summary>
    /// The design's estimate of <paramref name="portraits"/> portraits, every one on <paramref name="provider"/> at its per-image
    /// estimate (23 × flux-pulid: $0.506; $0.5566 with 10 % retries).
    /// </summary>
    public CostEstimate Estimate(int portraits, string provider)
    {
        var cost = portraits * EstimatedUsdPerImage.GetValueOrDefault(provider);
        return new CostEstimate(cost, decimal.Round(cost * (1 + ExpectedRetryRate), 4));
    }

    /// <summary>
    /// Replicate time a time-billed prediction is cancelled before the compute its reservation pays for runs out (when the budget has no
    /// more for it): the cancel's way to Replicate and the clocks' disagreement. See <c>ComputeLimit</c>.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan ComputeMargin { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A provider's <see cref="MaxPredictTime"/>; a minute for one not listed.</summary>
    public TimeSpan MaxPredictTimeOf(string provider) => MaxPredictTime.GetValueOrDefault(provider, TimeSpan.FromMinutes(1));

    /// <summary>Typical seconds one prediction takes, for the first ETA; later ETAs use what the generation has measured.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:30:00")]
    public TimeSpan EstimatedPredictionTime { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// How long a follower of a generation's events waits on Redis before it reads the database: a publish lost (Redis down, a worker
    /// killed between commit and publish) delays a follower by this much at most.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan ProgressCatchUp { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Replicate's create-prediction limit, shared by every Jobs replica through Redis.</summary>
    public CreateRateLimitOptions CreateRateLimit { get; set; } = new();

    internal void ApplyEnvironment(IConfiguration configuration)
    {
        if (configuration[BudgetVariable] is not { Length: > 0 } budget)
        {
            return;
        }

        if (decimal.TryParse(budget, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var parsed))
        {
            BudgetPerGeneration = parsed;
        }
        else
        {
            environmentError = $"{BudgetVariable} must be an amount in USD such as 0.80, not '{budget}'.";
        }
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (environmentError is not null)
        {
            yield return new(environmentError);
        }

        if (BudgetPerGeneration > MaxBudgetPerGeneration)
        {
            yield return new($"{BudgetVariable} ({BudgetPerGeneration}) must not exceed Pipeline:MaxBudgetPerGeneration ({MaxBudgetPerGeneration}).");
        }

        foreach (var (provider, limit) in MaxPredictTime.Where(m => m.Value < TimeSpan.FromSeconds(1) || m.Value > TimeSpan.FromMinutes(30)))
        {
            yield return new($"Pipeline:MaxPredictTime:{provider} must be between 1 s and 30 min, not {limit}.");
        }

        foreach (var (provider, limit) in MaxPredictTime.Where(m => m.Value <= ComputeMargin * 2))
        {
            yield return new($"Pipeline:MaxPredictTime:{provider} ({limit}) must be more than twice Pipeline:ComputeMargin ({ComputeMargin}).");
        }

        if (OutputHosts.Count == 0 || OutputHosts.Any(string.IsNullOrWhiteSpace))
        {
            yield return new("Pipeline:OutputHosts must list at least one host, and no empty one.");
        }

        var limitErrors = new List<ValidationResult>();
        Validator.TryValidateObject(CreateRateLimit, new ValidationContext(CreateRateLimit), limitErrors, validateAllProperties: true);
        foreach (var error in limitErrors)
        {
            yield return new($"Pipeline:CreateRateLimit: {error.ErrorMessage}");
        }
    }

    /// <summary>Whether an output URL may be fetched.</summary>
    public bool AllowsOutputHost(Uri url) =>
        url.Scheme is "https" or "http" && OutputHosts.Any(host => host.StartsWith("*.", StringComparison.Ordinal)
            ? url.Host.EndsWith(host[1..], StringComparison.OrdinalIgnoreCase)
            : url.Host.Equals(host, StringComparison.OrdinalIgnoreCase));
}

/// <summary>A token bucket: <see cref="PerMinute"/> creates a minute, up to <see cref="Burst"/> at once.</summary>
public sealed class CreateRateLimitOptions
{
    /// <summary>Replicate's published limit is 600 creates a minute.</summary>
    [Range(1, 100_000)]
    public int PerMinute { get; set; } = 600;

    /// <summary>Replicate allows short bursts; 60 puts two or three generations' portraits in flight at once.</summary>
    [Range(1, 100_000)]
    public int Burst { get; set; } = 60;
}
