using System.ComponentModel.DataAnnotations;

namespace PinGlass.Photos.Faces;

/// <summary>Where the faces service is and how much of each image it is sent. Section <c>Photos:Faces</c>.</summary>
public sealed class FacesOptions
{
    public const string Section = "Photos:Faces";

    /// <summary>The faces service; <c>http://faces</c> resolves through Aspire service discovery.</summary>
    [Required]
    public Uri BaseAddress { get; set; } = new("http://faces");

    /// <summary>
    /// Longest side sent for analysis. The detector works at 512 px, so more only costs transfer and tensor time;
    /// less loses small faces.
    /// </summary>
    [Range(128, 1024)]
    public int AnalysisMaxSide { get; set; } = 768;

    /// <summary>
    /// A person waits for these analyses (the Api's uploads): the faces service serves them ahead of background work such as the
    /// Jobs' identity checks, so an upload is never queued behind a backlog of portraits.
    /// </summary>
    public bool Interactive { get; set; }

    /// <summary>Per-request timeout; one analysis takes about 0.3 s, queued ones wait their turn.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);
}
