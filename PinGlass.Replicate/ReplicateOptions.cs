using System.ComponentModel.DataAnnotations;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using PinGlass.Platform;
using PinGlass.Replicate.Client;
using PinGlass.Replicate.Providers;

namespace PinGlass.Replicate;

/// <summary>
/// Configuration section <c>Replicate</c>, plus the design's environment variables <c>REPLICATE_MAX_RETRIES</c>,
/// <c>REPLICATE_PRIMARY_MODEL</c> and <c>REPLICATE_ENABLE_FALLBACK</c>, which win over the section.
/// </summary>
public sealed class ReplicateOptions : IValidatableObject
{
    public const string Section = "Replicate";
    public const string MaxRetriesVariable = "REPLICATE_MAX_RETRIES";
    public const string PrimaryModelVariable = "REPLICATE_PRIMARY_MODEL";
    public const string EnableFallbackVariable = "REPLICATE_ENABLE_FALLBACK";

    /// <summary>How long a community model's cold boot may take before its prediction is given up: "several minutes".</summary>
    private static readonly TimeSpan CommunityColdBoot = TimeSpan.FromMinutes(5);

    private readonly List<string> environmentErrors = [];

    /// <summary>The bearer token. Never logged, never put into exceptions or traces.</summary>
    [Required(ErrorMessage = "Replicate:ApiToken is required.")]
    public string ApiToken { get; set; } = "";

    /// <summary>Replicate's base URL; the default is the AppHost's <c>replicate</c> resource, resolved by service discovery.</summary>
    [Required]
    public Uri BaseUrl { get; set; } = new($"https+http://{ResourceNames.Replicate}");

    /// <summary>Where Replicate posts prediction webhooks; each create adds its own attempt marker to it (see SafeCreate).</summary>
    public Uri? WebhookUrl { get; set; }

    [Range(0, 10, ErrorMessage = $"{MaxRetriesVariable} must be between 0 and 10.")]
    public int MaxRetries { get; set; } = 3;

    /// <summary>First retry delay; each next one doubles, up to <see cref="MaxRetryDelay"/>. <c>Retry-After</c> replaces it.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>One HTTP attempt's timeout; a create with <c>Prefer: wait</c> gets the wait on top.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long one prediction may run once it has started (<c>processing</c>): PinGlass cancels it then (<c>ComputeLimit</c>), counting
    /// from the <c>started_at</c> Replicate reports, so a cold boot before it does not eat into it.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:05", "00:30:00")]
    public TimeSpan GenerationTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// The <c>Cancel-After</c> sent with each create, in wall time; empty means the model's <see cref="ProviderModelOptions.ColdBoot"/>
    /// + <see cref="GenerationTimeout"/>. Replicate's backstop for a PinGlass that is down: while PinGlass runs, it stops a prediction
    /// at its run limit itself.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:05", "1.00:00:00")]
    public TimeSpan? CancelAfter { get; set; }

    /// <summary>
    /// How many times faster than the wall clock the endpoint's clock runs: 1 for Replicate, the emulator's <c>TimeScale</c> for a
    /// time-scaled emulator (the AppHost passes it), which reads <c>Cancel-After</c> in its own time.
    /// </summary>
    [Range(0.001, 100_000)]
    public double ClockScale { get; set; } = 1;

    /// <summary>The <c>Cancel-After</c> a create on <paramref name="provider"/> sends, in the endpoint's time.</summary>
    public TimeSpan CancelAfterFor(string provider) => CancelAfter is { } set
        ? set * ClockScale
        : (Models.TryGetValue(provider, out var model) ? model.ColdBoot : TimeSpan.Zero) + GenerationTimeout * ClockScale;

    /// <summary>The provider tried first: flux-pulid, flux-kontext-pro or instant-id.</summary>
    public string PrimaryModel { get; set; } = ProviderNames.FluxPulid;

    public bool EnableFallback { get; set; } = true;

    /// <summary>Switches on the multi-reference provider for requests with two to four faces.</summary>
    public bool EnableMultiReference { get; set; }

    /// <summary>
    /// The model each provider runs, its price and its cold boot; defaults are the versions PinGlass was built against. The community
    /// models boot cold after idling, which Replicate says "can take several minutes"; official models (kontext-pro) are always on.
    /// </summary>
    public Dictionary<string, ProviderModelOptions> Models { get; set; } = new(StringComparer.OrdinalIgnoreCase)
    {
        [ProviderNames.FluxPulid] = new() { Model = "bytedance/flux-pulid:8baa7ef2255075b46f4d91cd238c21d31181b3e6a864463f967960bb0112525b", UsdPerSecond = 0.0014m, ColdBoot = CommunityColdBoot },
        [ProviderNames.FluxKontextPro] = new() { Model = "black-forest-labs/flux-kontext-pro", UsdPerImage = 0.04m },
        [ProviderNames.InstantId] = new() { Model = "grandlineai/instant-id-photorealistic:03914a0c3326bf44383d0cd84b06822618af879229ce5d1d53bef38d93b68279", UsdPerSecond = 0.000975m, ColdBoot = CommunityColdBoot },
        [ProviderNames.FluxMultiPulid] = new() { Model = "mattheum/flux-multi-pulid-controlnet:73a2c5ab8fbf6f29278a0285d6c6282ce61baefce9def279d91223541903687e", UsdPerSecond = 0.0014m, ColdBoot = CommunityColdBoot },
    };

    public CircuitBreakerSettings CircuitBreaker { get; set; } = new();

    /// <summary>Reads the environment variables over the bound section; a value that does not parse is kept as a validation error.</summary>
    internal void ApplyEnvironment(IConfiguration configuration)
    {
        if (configuration[MaxRetriesVariable] is { Length: > 0 } retries)
        {
            if (int.TryParse(retries, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                MaxRetries = parsed;
            }
            else
            {
                environmentErrors.Add($"{MaxRetriesVariable} must be a whole number between 0 and 10, not '{retries}'.");
            }
        }

        if (configuration[PrimaryModelVariable] is { Length: > 0 } primary)
        {
            PrimaryModel = primary.Trim();
        }

        if (configuration[EnableFallbackVariable] is { Length: > 0 } fallback)
        {
            if (bool.TryParse(fallback, out var parsed))
            {
                EnableFallback = parsed;
            }
            else
            {
                environmentErrors.Add($"{EnableFallbackVariable} must be true or false, not '{fallback}'.");
            }
        }
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var error in environmentErrors)
        {
            yield return new(error);
        }

        if (!ProviderNames.Single.Contains(PrimaryModel, StringComparer.OrdinalIgnoreCase))
        {
            yield return new($"{PrimaryModelVariable} must be one of {string.Join(", ", ProviderNames.Single)}, not '{PrimaryModel}'.");
        }

        foreach (var name in ProviderNames.All)
        {
            if (!Models.TryGetValue(name, out var model) || !ModelRef.TryParse(model.Model, out _))
            {
                yield return new($"Replicate:Models:{name}:Model must be owner/name or owner/name:version.");
            }
            else if (model.ColdBoot < TimeSpan.Zero || model.ColdBoot > TimeSpan.FromMinutes(20))
            {
                yield return new($"Replicate:Models:{name}:ColdBoot must be between 00:00:00 and 00:20:00.");
            }
        }

        var breakerErrors = new List<ValidationResult>();
        Validator.TryValidateObject(CircuitBreaker, new ValidationContext(CircuitBreaker), breakerErrors, validateAllProperties: true);
        foreach (var error in breakerErrors)
        {
            yield return new($"Replicate:CircuitBreaker: {error.ErrorMessage}");
        }

        if (WebhookUrl is { IsAbsoluteUri: false })
        {
            yield return new("Replicate:WebhookUrl must be an absolute URL.");
        }
    }
}

public sealed class ProviderModelOptions
{
    /// <summary><c>owner/name</c> for an official model, <c>owner/name:version</c> for a community model.</summary>
    public string Model { get; set; } = "";

    /// <summary>Price of a per-image model.</summary>
    public decimal? UsdPerImage { get; set; }

    /// <summary>Price of a time-billed model, per second of <c>metrics.predict_time</c>.</summary>
    public decimal? UsdPerSecond { get; set; }

    /// <summary>
    /// How long its predictions may wait to start (queueing, a cold boot: neither billed), in Replicate time, on top of the run timeout
    /// in the <c>Cancel-After</c>, which counts from creation: a shorter deadline would abort a booting model and pay for the fallback.
    /// </summary>
    public TimeSpan ColdBoot { get; set; }
}

/// <summary>Each model's breaker: it opens when the failure ratio over the sampling window reaches the threshold.</summary>
public sealed class CircuitBreakerSettings
{
    [Range(0.01, 1)]
    public double FailureRatio { get; set; } = 0.5;

    [Range(2, 1000)]
    public int MinimumThroughput { get; set; } = 4;

    [Range(typeof(TimeSpan), "00:00:00.500", "01:00:00")]
    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromMinutes(2);

    [Range(typeof(TimeSpan), "00:00:00.500", "01:00:00")]
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(30);
}
