using System.Text.Json;
using System.Text.Json.Serialization;
using PinGlass.Generations.Persistence;

namespace PinGlass.Generations.Progress;

/// <summary>The design's progress fields, as GET returns them and every server-sent event carries them.</summary>
/// <param name="Version">Grows with every change; the id of the server-sent event.</param>
/// <param name="Portrait">The portrait whose change this is, if one changed.</param>
public sealed record GenerationProgress(
    Guid GenerationId,
    long Version,
    string Status,
    int Completed,
    int Total,
    int Successful,
    int Failed,
    int CurrentBatch,
    int Batches,
    double EstimatedTimeRemaining,
    decimal CostSoFar,
    PortraitChange? Portrait = null)
{
    /// <summary>The form changes take on Redis and in the progress log.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [JsonIgnore]
    public bool IsTerminal => StatusNames.Parse<GenerationStatus>(Status).IsTerminal();

    /// <summary>
    /// The ETA: the expected time of the batches not yet finished (each <paramref name="predictionTime"/> plus the delay between
    /// batches), less what the generation has already run; never below zero, and zero once it has ended.
    /// </summary>
    public static GenerationProgress From(GenerationRow row, DateTimeOffset now, TimeSpan predictionTime, PortraitChange? portrait = null)
    {
        var expected = predictionTime * row.Batches + TimeSpan.FromMilliseconds(row.BatchDelayMs) * (row.Batches - 1);
        var remaining = row.IsTerminal ? TimeSpan.Zero : expected - (now - row.CreatedAt);
        return new(row.Id, row.Version, row.Status.Name(), row.Completed, row.Total, row.Successful, row.Failed, row.CurrentBatch, row.Batches,
            Math.Round(Math.Max(0, remaining.TotalSeconds), 1), decimal.Round(row.Spent, 4), portrait);
    }
}

public sealed record PortraitChange(int Index, string Status);
