using System.ComponentModel.DataAnnotations;

namespace PinGlass.Generations.Privacy;

/// <summary>How long PinGlass keeps what a generation holds of a person, counted from when it ended. Section <c>Retention</c>.</summary>
public sealed class RetentionOptions : IValidatableObject
{
    public const string Section = "Retention";

    /// <summary>
    /// The reference crops, the face centroid and the photos' names and scores (biometric data) are kept this long after the generation
    /// ended, so a portrait can be made again on request; then they are deleted.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "365.00:00:00")]
    public TimeSpan FacesAfterEnd { get; set; } = TimeSpan.FromHours(24);

    /// <summary>The portraits are kept this long after the generation ended; then the whole generation is erased but its cost record.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "3650.00:00:00")]
    public TimeSpan PortraitsFor { get; set; } = TimeSpan.FromDays(30);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (PortraitsFor < FacesAfterEnd)
        {
            yield return new ValidationResult("Portraits are kept at least as long as the faces they were made from.",
                [nameof(PortraitsFor), nameof(FacesAfterEnd)]);
        }
    }
}

/// <summary>When a generation's faces and its portraits are deleted; nothing while it has not ended.</summary>
public sealed record RetentionDates(DateTimeOffset FacesDeletedBy, DateTimeOffset PortraitsDeletedBy)
{
    public static RetentionDates? For(DateTimeOffset? completedAt, RetentionOptions options) =>
        completedAt is { } ended ? new RetentionDates(ended + options.FacesAfterEnd, ended + options.PortraitsFor) : null;
}
