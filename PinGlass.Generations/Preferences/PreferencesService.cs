using PinGlass.Generations.Clients;
using PinGlass.Generations.Styles;

namespace PinGlass.Generations.Preferences;

/// <summary>One style as learned for a user: the posterior's mean and 95 % interval, and the portraits behind it.</summary>
public sealed record StylePreference(string StyleId, string Name, double Mean, double Low, double High, Tally User, Tally Everyone);

/// <summary>What PinGlass learned of a user's taste, and how it chooses for them.</summary>
/// <param name="Styles">Every style, the user's best first (by posterior mean).</param>
/// <param name="Exploration">How styles are chosen for a generation that asks for a number of them.</param>
public sealed record UserPreferences(string User, IReadOnlyList<StylePreference> Styles, string Exploration, double ExplorationShare, double PriorStrength);

/// <summary>Turns a client's feedback into a user's preferences, and chooses a generation's styles from them.</summary>
public sealed class PreferencesService(FeedbackStore feedback, StyleCatalog catalog)
{
    public async Task<UserPreferences> ForAsync(Owner owner, CancellationToken cancellationToken)
    {
        var tallies = (await feedback.StyleTalliesAsync(owner, cancellationToken)).ToDictionary(t => t.StyleId);
        var styles = catalog.All.Select(style =>
        {
            var tally = tallies.GetValueOrDefault(style.Id) ?? new StyleTallies(style.Id, default, default);
            var posterior = PreferenceModel.ForUser(tally.Everyone, tally.User);
            var (low, high) = posterior.Interval();
            return new StylePreference(style.Id, style.Name, Math.Round(posterior.Mean, 3), Math.Round(low, 3), Math.Round(high, 3), tally.User, tally.Everyone);
        }).OrderByDescending(s => s.Mean).ToList();
        return new UserPreferences(owner.UserId, styles,
            $"Thompson sampling over Beta posteriors: of a generation's N styles, ⌈{1 - PreferenceModel.ExplorationShare:0.##}·N⌉ are the user's best by posterior mean, the rest drawn from the posteriors of the others.",
            PreferenceModel.ExplorationShare, PreferenceModel.PriorStrength);
    }

    /// <summary><paramref name="count"/> styles for the user's next generation, best first (exploration bounded as stated).</summary>
    public async Task<IReadOnlyList<string>> ChooseStylesAsync(Owner owner, int count, CancellationToken cancellationToken)
    {
        var tallies = (await feedback.StyleTalliesAsync(owner, cancellationToken)).ToDictionary(t => t.StyleId);
        var posteriors = catalog.All.Select(s => (s.Id, tallies.GetValueOrDefault(s.Id) is { } t ? PreferenceModel.ForUser(t.Everyone, t.User)
            : PreferenceModel.ForUser(default, default))).ToList();
        return PreferenceModel.Choose(posteriors, count, Random.Shared);
    }
}
