using PinGlass.Cli.Api;

namespace PinGlass.Cli.Output;

/// <summary>How a generation went, in the figures a person asks for first. Pure: made from the Api's view of the generation.</summary>
/// <param name="Elapsed">From the upload's first byte to the end, as this client saw it; null when it did not watch the start.</param>
/// <param name="FellBack">Portraits delivered by another model than the one first tried for them.</param>
/// <param name="Flagged">Portraits delivered although the identity gate doubted them (or could not check them).</param>
public sealed record GenerationSummary(Guid Id, string Status, int Delivered, int Total, int Failed, decimal Cost, decimal Estimate, decimal Budget,
    TimeSpan? Elapsed, TimeSpan? Duration, IReadOnlyList<int> FellBack, IReadOnlyList<int> Flagged)
{
    public bool AllDelivered => Status == "completed" && Delivered == Total;

    public static GenerationSummary Of(GenerationView view, TimeSpan? elapsed) => new(
        view.Id, view.Status,
        view.Portraits.Count(p => p.ImageUrl is not null), view.Portraits.Count, view.Portraits.Count(p => p.Status == "failed"),
        view.CostSoFar, view.EstimatedCost, view.Budget, elapsed, view.CompletedAt - view.CreatedAt,
        [.. view.Portraits.Where(p => p.ImageUrl is not null && p.Attempts.Count > 0 && p.Provider is not null && p.Provider != p.Attempts[0].Provider)
            .Select(p => p.Index)],
        [.. view.Portraits.Where(p => p.Identity is { Flagged: true }).Select(p => p.Index)]);
}
