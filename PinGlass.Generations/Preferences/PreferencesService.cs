using PinGlass.Generations.Clients;
using PinGlass.Generations.Experiments;
using PinGlass.Generations.Styles;

namespace PinGlass.Generations.Preferences;

/// <summary>One choice (a style, an arm) as learned for a user: the posterior's mean and 95 % interval, and the portraits behind it.</summary>
public sealed record ChoicePreference(string Id, string Name, double Mean, double Low, double High, Tally User, Tally Everyone);

/// <summary>What PinGlass learned of a user's taste, and how it chooses for them.</summary>
/// <param name="Styles">Every style, the user's best first (by posterior mean).</param>
/// <param name="Experiment">The running experiment that assigns arms by preference to this user's generations, if any.</param>
/// <param name="Arms">Its arms (with weight), the user's best first.</param>
/// <param name="Exploration">How styles and arms are chosen.</param>
public sealed record UserPreferences(string User, IReadOnlyList<ChoicePreference> Styles, string? Experiment, IReadOnlyList<ChoicePreference> Arms,
    string Exploration, double ExplorationShare, double PriorStrength);

/// <summary>
/// Turns feedback into a user's preferences: the styles' (a client's users' feedback) and, for an experiment that assigns arms by
/// preference, its arms' (everyone's in it); and chooses a generation's styles and arm from them.
/// </summary>
public sealed class PreferencesService(FeedbackStore feedback, ExperimentStore experiments, StyleCatalog catalog)
{
    public const string Exploration =
        "Thompson sampling over Beta posteriors, a fifth of choices exploring on average: each of a generation's styles (styleCount), and each " +
        "generation's arm, is the user's best left by posterior mean, except with probability 0.2 the best of a draw from the posteriors of those left. " +
        "Ties are broken at random.";

    public async Task<UserPreferences> ForAsync(Owner owner, CancellationToken cancellationToken)
    {
        var styles = Learned(catalog.All.Select(s => (s.Id, s.Name)), await feedback.StyleTalliesAsync(owner, cancellationToken));
        var experiment = await experiments.RunningAsync(owner.ClientId, cancellationToken) is { Assignment: ArmAssignmentMode.Preference } running ? running : null;
        var arms = experiment is null ? []
            : Learned(experiment.Arms.Where(a => a.Weight > 0).Select(a => (a.Name, a.Name)), await feedback.ArmTalliesAsync(owner, experiment.Key, cancellationToken));
        return new UserPreferences(owner.UserId, styles, experiment?.Key, arms, Exploration, PreferenceModel.ExplorationShare, PreferenceModel.PriorStrength);
    }

    /// <summary><paramref name="count"/> styles for the user's next generation, in the order chosen (a fifth of the slots explore on average).</summary>
    public async Task<IReadOnlyList<string>> ChooseStylesAsync(Owner owner, int count, CancellationToken cancellationToken) =>
        PreferenceModel.Choose(Posteriors(catalog.All.Select(s => s.Id), await feedback.StyleTalliesAsync(owner, cancellationToken)), count, Random.Shared);

    /// <summary>The arm of <paramref name="experiment"/> for the user's next generation; null when every arm is stopped.</summary>
    public async Task<Arm?> ChooseArmAsync(Owner owner, ExperimentDefinition experiment, CancellationToken cancellationToken)
    {
        var open = experiment.Arms.Where(a => a.Weight > 0).ToList();
        if (open.Count == 0)
        {
            return null;
        }

        var chosen = PreferenceModel.ChooseOne(Posteriors(open.Select(a => a.Name), await feedback.ArmTalliesAsync(owner, experiment.Key, cancellationToken)),
            Random.Shared);
        return open.Single(a => a.Name == chosen);
    }

    private static List<(string Choice, BetaPosterior Posterior)> Posteriors(IEnumerable<string> choices, List<ChoiceTallies> tallies)
    {
        var byChoice = tallies.ToDictionary(t => t.Choice);
        return [.. choices.Select(c => (c, Posterior(byChoice.GetValueOrDefault(c))))];
    }

    private static BetaPosterior Posterior(ChoiceTallies? tally) =>
        tally is null ? PreferenceModel.ForUser(default, default) : PreferenceModel.ForUser(tally.Everyone, tally.User);

    private static List<ChoicePreference> Learned(IEnumerable<(string Id, string Name)> choices, List<ChoiceTallies> tallies)
    {
        var byChoice = tallies.ToDictionary(t => t.Choice);
        return [.. choices.Select(choice =>
        {
            var tally = byChoice.GetValueOrDefault(choice.Id) ?? new ChoiceTallies(choice.Id, default, default);
            var posterior = Posterior(tally);
            var (low, high) = posterior.Interval();
            return new ChoicePreference(choice.Id, choice.Name, Math.Round(posterior.Mean, 3), Math.Round(low, 3), Math.Round(high, 3), tally.User, tally.Everyone);
        }).OrderByDescending(c => c.Mean)];
    }
}
