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

    [Fact]
    public void Means_have_normal_intervals_and_differences_welchs()
    {
        var a = ExperimentStatistics.Mean(10, 2, 100);
        Assert.Equal((9.608, 10.392), (Math.Round(a.Low!.Value, 3), Math.Round(a.High!.Value, 3)));
        var b = ExperimentStatistics.Mean(9, 2, 100);
        var difference = ExperimentStatistics.MeanDifference(a, b);
        Assert.Equal(1, difference.Value!.Value, 6);
        Assert.True(difference.Significant);
        Assert.False(ExperimentStatistics.MeanDifference(ExperimentStatistics.Mean(10, 2, 4), ExperimentStatistics.Mean(9, 2, 4)).Significant);
        Assert.Null(ExperimentStatistics.Mean(3, null, 1).Low);
    }

    [Fact]
    public void A_users_posterior_starts_at_everyones_taste_and_moves_with_their_own()
    {
        var everyone = new Tally(30, 10);
        Assert.Equal(PreferenceModel.Global(everyone).Mean, PreferenceModel.ForUser(everyone, default).Mean, 6);
        Assert.True(PreferenceModel.ForUser(everyone, new Tally(0, 5)).Mean < 0.5);
        Assert.Equal(8.0 / 11, PreferenceModel.ForUser(new Tally(0, 0), new Tally(5, 0)).Mean, 6);

        var posterior = new BetaPosterior(3, 7);
        var random = new Random(1);
        Assert.Equal(0.3, Enumerable.Range(0, 20_000).Average(_ => posterior.Sample(random)), 2);
        var (low, high) = posterior.Interval();
        Assert.InRange(low, 0.06, 0.09);
        Assert.InRange(high, 0.59, 0.63);
    }

    [Fact]
    public void Exploration_is_bounded_to_the_stated_share_and_the_rest_is_the_best_by_mean()
    {
        var posteriors = Enumerable.Range(0, 20).Select(i => ($"s{i}", new BetaPosterior(1 + 20 - i, 1 + i))).ToList();
        var random = new Random(7);
        for (var run = 0; run < 200; run++)
        {
            var chosen = PreferenceModel.Choose(posteriors, 10, random);
            Assert.Equal(10, chosen.Distinct().Count());
            Assert.Equal(Enumerable.Range(0, 8).Select(i => $"s{i}"), chosen.Take(8));
        }

        Assert.Equal(["s0"], PreferenceModel.Choose(posteriors, 1, random));
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
