using System.ComponentModel.DataAnnotations;

namespace PinGlass.Generations.ClientWebhooks;

/// <summary>How PinGlass calls its clients' callback URLs, section <c>ClientWebhooks</c>.</summary>
public sealed class ClientWebhookOptions : IValidatableObject
{
    public const string Section = "ClientWebhooks";

    /// <summary>
    /// The waits between a failed delivery and the next attempt: Standard Webhooks' (Svix's) schedule, 5 s, 5 min, 30 min, 2 h, 5 h,
    /// 10 h, 10 h. After the last, the delivery is dead: the ops' dead-letter view lists it and it can be replayed.
    /// </summary>
    public static readonly TimeSpan[] StandardRetryDelays =
    [
        TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2), TimeSpan.FromHours(5),
        TimeSpan.FromHours(10), TimeSpan.FromHours(10),
    ];

    /// <summary>Private, loopback and link-local targets; null (unset): allowed in Development only.</summary>
    public bool? AllowPrivateTargets { get; set; }

    /// <summary>
    /// The waits between attempts; empty (unset) for <see cref="StandardRetryDelays"/>. A configured list replaces it (configuration
    /// binding appends to an array it finds filled, so the default is not kept in this property).
    /// </summary>
    public TimeSpan[] RetryDelays { get; set; } = [];

    /// <summary>How long one attempt may take, connection to the response's headers.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:01:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>A delivery still due this long after its time was lost to a process killed before it queued it: the sweeper queues it.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan SweepGrace { get; set; } = TimeSpan.FromSeconds(30);

    public IReadOnlyList<TimeSpan> Delays => RetryDelays is { Length: > 0 } ? RetryDelays : StandardRetryDelays;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (RetryDelays.Any(d => d < TimeSpan.Zero || d > TimeSpan.FromDays(2)))
        {
            yield return new ValidationResult("Each retry delay is from 0 to 2 days.", [nameof(RetryDelays)]);
        }

        if (RetryDelays.Length > 20)
        {
            yield return new ValidationResult("At most 20 retry delays.", [nameof(RetryDelays)]);
        }
    }

    /// <summary>
    /// The wait before the next attempt after <paramref name="attemptsMade"/> attempts, the last of them failed; null when none is left
    /// (the delivery is dead).
    /// </summary>
    public TimeSpan? NextDelay(int attemptsMade) => attemptsMade >= 1 && attemptsMade <= Delays.Count ? Delays[attemptsMade - 1] : null;
}
