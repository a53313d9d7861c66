namespace PinGlass.Generations.Preferences;

/// <summary>Cumulative regret after a number of rounds: expected liked portraits lost against each user's best fixed styles.</summary>
public sealed record RegretPoint(int Round, double Learned, double Random);

/// <summary>What a simulation found: regret at checkpoints, and the share of each user's true favourites the learner chose at the end.</summary>
public sealed record SimulationResult(int Users, int Styles, int StylesPerGeneration, IReadOnlyList<RegretPoint> Regret, double FirstRoundsRegret,
    double LastRoundsRegret, double FavouritesFoundAtEnd);

/// <summary>
/// Synthetic users of known tastes: each style has an appeal to everyone (0.1–0.6), each user loves three styles (+0.35) and dislikes
/// three (−0.2). Every round each user makes a generation of <c>perGeneration</c> styles chosen by <see cref="PreferenceModel.Choose"/>
/// from what everyone said so far, and says something of each portrait 60 % of the time (for it with the style's chance for them).
/// Regret is measured against each user's best fixed choice (their top styles by true chance), beside a learner that picks at random.
/// Seeded: the same arguments print the same figures.
/// </summary>
public static class PreferenceSimulation
{
    public static SimulationResult Run(int users = 200, int rounds = 60, int styles = 23, int perGeneration = 6, int seed = 19)
    {
        var random = new Random(seed);
        var appeal = Enumerable.Range(0, styles).Select(_ => 0.1 + 0.5 * random.NextDouble()).ToArray();
        var tastes = Enumerable.Range(0, users).Select(_ =>
        {
            var taste = (double[])appeal.Clone();
            var order = Enumerable.Range(0, styles).OrderBy(_ => random.Next()).ToArray();
            foreach (var s in order.Take(3))
            {
                taste[s] += 0.35;
            }

            foreach (var s in order.Skip(3).Take(3))
            {
                taste[s] -= 0.2;
            }

            return taste.Select(p => Math.Clamp(p, 0.02, 0.98)).ToArray();
        }).ToArray();
        var best = tastes.Select(t => t.OrderDescending().Take(perGeneration).Sum()).ToArray();
        var favourites = tastes.Select(t => Enumerable.Range(0, styles).OrderByDescending(s => t[s]).Take(perGeneration).ToHashSet()).ToArray();
        var everyone = new Tally[styles];
        var own = Enumerable.Range(0, users).Select(_ => new Tally[styles]).ToArray();
        var names = Enumerable.Range(0, styles).Select(s => s.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        double learned = 0, chance = 0;
        var points = new List<RegretPoint>();
        var perRound = new List<double>();
        var found = 0.0;
        for (var round = 1; round <= rounds; round++)
        {
            var thisRound = 0.0;
            for (var u = 0; u < users; u++)
            {
                var posteriors = Enumerable.Range(0, styles).Select(s => (names[s], PreferenceModel.ForUser(everyone[s], own[u][s]))).ToList();
                var chosen = PreferenceModel.Choose(posteriors, perGeneration, random).Select(int.Parse).ToList();
                var regret = best[u] - chosen.Sum(s => tastes[u][s]);
                learned += regret;
                thisRound += regret;
                chance += best[u] - Enumerable.Range(0, styles).OrderBy(_ => random.Next()).Take(perGeneration).Sum(s => tastes[u][s]);
                foreach (var s in chosen.Where(_ => random.NextDouble() < 0.6))
                {
                    var liked = random.NextDouble() < tastes[u][s];
                    everyone[s] = liked ? everyone[s] with { For = everyone[s].For + 1 } : everyone[s] with { Against = everyone[s].Against + 1 };
                    own[u][s] = liked ? own[u][s] with { For = own[u][s].For + 1 } : own[u][s] with { Against = own[u][s].Against + 1 };
                }

                if (round == rounds)
                {
                    found += chosen.Count(favourites[u].Contains) / (double)perGeneration;
                }
            }

            perRound.Add(thisRound / users);
            if (round is 1 or 5 or 10 or 20 or 40 || round == rounds || round % 100 == 0)
            {
                points.Add(new RegretPoint(round, learned / users, chance / users));
            }
        }

        var window = Math.Max(1, rounds / 10);
        return new SimulationResult(users, styles, perGeneration, points.DistinctBy(p => p.Round).ToList(), perRound.Take(window).Average(),
            perRound.TakeLast(window).Average(), found / users);
    }
}
