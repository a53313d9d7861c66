using PinGlass.Generations.Experiments;
using PinGlass.Generations.Planning;
using PinGlass.Generations.Preferences;

namespace PinGlass.Generations.Tests;

/// <summary>The decisions behind experiments and preferences: assignment, intervals, posteriors, bounded exploration, and the simulation.</summary>
public sealed class ExperimentAndPreferenceTests
{
    private static readonly Guid Client = Guid.Parse("0190f0aa-0000-7000-8000-000000000001");

    [Fact]
    public void Assignment_is_deterministic_follows_the_weights_and_skips_a_stopped_arm()
    {
        Arm[] arms = [new("a", 70, new ArmSettings()), new("b", 30, new ArmSettings()), new("c", 0, new ArmSettings())];
        var users = Enumerable.Range(0, 10_000).Select(i => $"user-{i}").ToList();
        var assigned = users.Select(u => ExperimentAssignment.Assign("exp", Client, u, arms)!.Name).ToList();

        Assert.Equal(assigned, users.Select(u => ExperimentAssignment.Assign("exp", Client, u, arms)!.Name));
        Assert.InRange(assigned.Count(a => a == "a") / 10_000.0, 0.67, 0.73);
        Assert.DoesNotContain("c", assigned);
        Assert.Null(ExperimentAssignment.Assign("exp", Client, "user-1", [new("a", 0, new ArmSettings())]));
        // Another experiment splits the same users independently.
        var other = users.Select(u => ExperimentAssignment.Assign("other", Client, u, arms)!.Name).ToList();
        Assert.InRange(assigned.Zip(other).Count(p => p.First == p.Second) / 10_000.0, 0.52, 0.64);
    }

    [Fact]
    public void A_reweight_moves_only_the_users_between_the_old_and_the_new_boundary()
    {
        Arm[] before = [new("control", 50, new ArmSettings()), new("treatment", 50, new ArmSettings())];
        Arm[] after = [new("control", 50, new ArmSettings()), new("treatment", 10, new ArmSettings())];
        var moves = Enumerable.Range(0, 10_000).Select(i => $"user-{i}")
            .Select(u => (Before: ExperimentAssignment.Assign("exp", Client, u, before)!.Name, After: ExperimentAssignment.Assign("exp", Client, u, after)!.Name))
            .ToList();

        // The treatment shrank: none of its users now were control users, and no control user moved.
        Assert.DoesNotContain(moves, m => m.Before == "control" && m.After == "treatment");
        // Of the treatment's half, the share between 1/2 and 5/6 (two thirds of it) moved.
        Assert.InRange(moves.Count(m => m.Before == "treatment" && m.After == "control") / 10_000.0, 0.31, 0.36);
    }

    [Fact]
    public void An_arms_settings_fill_what_the_client_left_out()
    {
        var arm = new ArmSettings { Steps = 4, IdWeightScale = 1.5 };
        Assert.Equal((4, 1.5), (arm.Under(new PortraitOverrides()).Steps, arm.Under(new PortraitOverrides()).IdWeightScale));
        Assert.Equal(8, arm.Under(new PortraitOverrides { Steps = 8 }).Steps);
        Assert.NotEmpty(new ArmSettings { Provider = "dall-e" }.Problems());
        Assert.NotEmpty(new ArmSettings { Steps = 99 }.Problems());
        Assert.Empty(new ArmSettings { Provider = "instant-id", MultiReference = true }.Problems());
    }

    [Fact]
    public void Rates_have_wilson_intervals_and_differences_newcombes()
    {
        var rate = ExperimentStatistics.Rate(7, 10);
        Assert.Equal(0.7, rate.Value);
        Assert.Equal(0.3968, rate.Low!.Value, 3);
        Assert.Equal(0.8922, rate.High!.Value, 3);
        var none = ExperimentStatistics.Rate(0, 20);
        Assert.Equal(0, none.Low);
        Assert.True(none.High > 0.1);
        Assert.Null(ExperimentStatistics.Rate(0, 0).Value);

        // Newcombe's worked example (Statistics in Medicine 1998, table II): 56/70 against 48/80 gives 0.0524 to 0.3339.
        var difference = ExperimentStatistics.RateDifference(ExperimentStatistics.Rate(56, 70), ExperimentStatistics.Rate(48, 80));
        Assert.Equal(0.0524, difference.Low!.Value, 3);
        Assert.Equal(0.3339, difference.High!.Value, 3);
        Assert.True(difference.Significant);
        Assert.False(ExperimentStatistics.RateDifference(ExperimentStatistics.Rate(5, 10), ExperimentStatistics.Rate(6, 10)).Significant);
    }

    [Theory]
    [InlineData(1, 12.706)]
    [InlineData(1.5, 8.5045)]
    [InlineData(2, 4.303)]
    [InlineData(10, 2.228)]
    [InlineData(30, 2.042)]
    [InlineData(40, 2.021)]
    [InlineData(99, 1.984)]
    [InlineData(1000, 1.962)]
    public void Students_t_at_97_5_percent_matches_the_table(double degrees, double t) =>
        Assert.Equal(t, ExperimentStatistics.StudentT(degrees), 3);

    [Fact]
    public void Means_have_t_intervals_and_differences_welchs()
    {
        var a = ExperimentStatistics.Mean(10, 2, 100);
        // 10 ± t(99) · 2 / √100 = 10 ± 1.984 · 0.2.
        Assert.Equal((9.603, 10.397), (Math.Round(a.Low!.Value, 3), Math.Round(a.High!.Value, 3)));
        var b = ExperimentStatistics.Mean(9, 2, 100);
        var difference = ExperimentStatistics.MeanDifference(a, b);
        Assert.Equal(1, difference.Value!.Value, 6);
        Assert.True(difference.Significant);
        // Two observations a side: t(1) = 12.7 makes the interval wide, where 1.96 would have called it.
        var two = ExperimentStatistics.Mean(10, 0.5, 2);
        Assert.Equal(10 - 12.706 * 0.5 / Math.Sqrt(2), two.Low!.Value, 3);
        Assert.False(ExperimentStatistics.MeanDifference(two, ExperimentStatistics.Mean(9, 0.5, 2)).Significant);
        Assert.Null(ExperimentStatistics.Mean(3, null, 1).Low);
        // Welch's degrees of freedom with equal variances and sizes: 2(n − 1) = 198; the interval 1 ± 1.972 · 0.2828.
        Assert.Equal(1 - 1.972 * Math.Sqrt(0.08), difference.Low!.Value, 3);
    }

    [Fact]
    public void A_users_posterior_starts_at_everyones_taste_and_moves_with_their_own()
    {
        var everyone = new Tally(30, 10);
        Assert.Equal(PreferenceModel.Global(everyone).Mean, PreferenceModel.ForUser(everyone, default).Mean, 6);
        // The user's own feedback is in everyone's tally: the prior is the others' (30 for, 10 against), not counted twice.
        var own = PreferenceModel.ForUser(new Tally(30, 15), new Tally(0, 5));
        Assert.Equal(6 * 31.0 / 42, own.Alpha, 9);
        Assert.Equal(6 * 11.0 / 42 + 5, own.Beta, 9);
        Assert.True(PreferenceModel.ForUser(new Tally(30, 15), new Tally(0, 5)).Mean < 0.5);
        Assert.Equal(8.0 / 11, PreferenceModel.ForUser(new Tally(5, 0), new Tally(5, 0)).Mean, 6);

        var posterior = new BetaPosterior(3, 7);
        var random = new Random(1);
        Assert.Equal(0.3, Enumerable.Range(0, 20_000).Average(_ => posterior.Sample(random)), 2);
        // Beta(3, 7)'s exact 2.5 % and 97.5 % points are 0.0749 and 0.6000; 4,000 draws are within 0.02 (three standard errors).
        var (low, high) = posterior.Interval();
        Assert.InRange(low, 0.0549, 0.0949);
        Assert.InRange(high, 0.5800, 0.6200);
    }

    [Fact]
    public void Exploration_is_bounded_to_the_stated_share_and_the_rest_is_the_best_by_mean()
    {
        // s0 best: a slot that does not explore takes the best left, so every style past the best ten is a draw's.
        var posteriors = Enumerable.Range(0, 20).Select(i => ($"s{i}", new BetaPosterior(1 + 20 - i, 1 + i))).ToList();
        var random = new Random(7);
        var runs = Enumerable.Range(0, 2000).Select(_ => PreferenceModel.Choose(posteriors, 10, random)).ToList();
        Assert.All(runs, chosen => Assert.Equal(10, chosen.Distinct().Count()));
        var outside = runs.Average(chosen => chosen.Count(c => int.Parse(c[1..]) >= 10)) / 10;
        Assert.InRange(outside, 0.005, 0.2);
        // The first slot is the best unless it explored (20 %) and the draw found another.
        Assert.InRange(runs.Count(chosen => chosen[0] == "s0") / 2000.0, 0.8, 0.99);

        // Nothing known: ties broken at random, so new users do not all get the catalog's first styles.
        List<(string, BetaPosterior)> unknown = [.. Enumerable.Range(0, 23).Select(i => ($"s{i}", new BetaPosterior(3, 3)))];
        Assert.True(Enumerable.Range(0, 100).Select(_ => PreferenceModel.Choose(unknown, 1, random)[0]).Distinct().Count() > 15);
    }

    [Fact]
    public void An_arm_is_the_best_by_mean_but_in_the_stated_share_of_choices_where_a_draw_decides()
    {
        List<(string, BetaPosterior)> arms = [("worse", new BetaPosterior(4, 6)), ("better", new BetaPosterior(6, 4))];
        var random = new Random(11);
        var worse = Enumerable.Range(0, 10_000).Count(_ => PreferenceModel.ChooseOne(arms, random) == "worse") / 10_000.0;
        // Only a draw picks the worse arm, and draws happen in 20 % of choices; the worse wins about one draw in five.
        Assert.InRange(worse, 0.02, 0.06);
        // Nothing to tell them apart: ties are broken at random.
        List<(string, BetaPosterior)> even = [("a", new BetaPosterior(3, 3)), ("b", new BetaPosterior(3, 3))];
        Assert.InRange(Enumerable.Range(0, 10_000).Count(_ => PreferenceModel.ChooseOne(even, random) == "b") / 10_000.0, 0.45, 0.55);
    }

    [Fact]
    public void The_simulation_learns_known_tastes_its_regret_falling_well_below_random()
    {
        var result = PreferenceSimulation.Run(users: 100, rounds: 40, seed: 3);
        var last = result.Regret[^1];
        Assert.True(last.Learned < 0.5 * last.Random, $"{last}");
        Assert.True(result.LastRoundsRegret < 0.7 * result.FirstRoundsRegret, $"{result}");
        Assert.True(result.FavouritesFoundAtEnd > 0.5, $"{result}");
        Assert.Equal(result, PreferenceSimulation.Run(users: 100, rounds: 40, seed: 3) with { Regret = result.Regret });
    }
}
