using System.ComponentModel.DataAnnotations;
using PinGlass.ReplicateEmulator.Faults;

namespace PinGlass.ReplicateEmulator;

/// <summary>Configuration section <c>ReplicateEmulator</c>; the AppHost sets these through environment variables.</summary>
public sealed class EmulatorOptions : IValidatableObject
{
    public const string Section = "ReplicateEmulator";

    /// <summary>The only bearer token the emulator accepts.</summary>
    [Required]
    public string ApiToken { get; set; } = "r8_pinglass_emulator_local_token";

    /// <summary>How much faster than Replicate the emulator runs: every modelled duration is divided by it.</summary>
    [Range(1e-3, 1e6)]
    public double TimeScale { get; set; } = 1;

    /// <summary>The signing secret returned by <c>GET /v1/webhooks/default/secret</c>; one underscore, as the Python client demands.</summary>
    [Required]
    [RegularExpression("^whsec_[A-Za-z0-9+/]+={0,2}$")]
    public string WebhookSecret { get; set; } = "whsec_cGluZ2xhc3MtZW11bGF0b3Itd2ViaG9vay1zZWNyZXQ=";

    /// <summary>How long inputs, outputs and logs are kept after a prediction ends, in Replicate time.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "30.00:00:00")]
    public TimeSpan RetentionPeriod { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Prediction creations allowed per minute (Replicate's published limit is 600).</summary>
    [Range(1, 1_000_000)]
    public int CreateRateLimitPerMinute { get; set; } = 600;

    /// <summary>Calls to every other endpoint allowed per minute, together (Replicate's published limit is 3000).</summary>
    [Range(1, 1_000_000)]
    public int RateLimitPerMinute { get; set; } = 3000;

    /// <summary>Absolute URL put into output, file and pagination URLs; empty means the request's own scheme and host.</summary>
    public string? PublicBaseUrl { get; set; }

    /// <summary>Largest accepted upload; Replicate's is 100 MB.</summary>
    [Range(1, long.MaxValue)]
    public long MaxFileBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>Fault rules active from start-up; <c>/_emulator/faults</c> replaces them at run time.</summary>
    public List<FaultRule> Faults { get; set; } = [];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!string.IsNullOrEmpty(PublicBaseUrl) && !Uri.TryCreate(PublicBaseUrl, UriKind.Absolute, out _))
        {
            yield return new ValidationResult("PublicBaseUrl must be an absolute URL.", [nameof(PublicBaseUrl)]);
        }

        if (WebhookSecret.StartsWith("whsec_", StringComparison.Ordinal) && !Convert.TryFromBase64String(WebhookSecret[6..], new byte[WebhookSecret.Length], out _))
        {
            yield return new ValidationResult("The part of WebhookSecret after whsec_ must be base64.", [nameof(WebhookSecret)]);
        }

        foreach (var error in Faults.SelectMany(rule => rule.Validate()))
        {
            yield return new ValidationResult(error, [nameof(Faults)]);
        }
    }
}
