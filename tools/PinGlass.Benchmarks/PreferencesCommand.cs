using System.Globalization;
using PinGlass.Generations.Preferences;

namespace PinGlass.Benchmarks;

/// <summary>The preference-learning simulation (<see cref="PreferenceSimulation"/>), its figures printed.</summary>
public static class PreferencesCommand
{
    public static int Run(string[] args)
    {
        var values = new Dictionary<string, int> { ["--users"] = 200, ["--rounds"] = 60, ["--per-generation"] = 6, ["--seed"] = 19 };
        for (var i = 0; i < args.Length; i += 2)
        {
            if (!values.ContainsKey(args[i]) || i + 1 >= args.Length || !int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var value) || value < 1)
            {
                Console.Error.WriteLine($"preferences: {args[i]} is not an option with a whole number above 0 (--users, --rounds, --per-generation, --seed)");
                return 2;
            }

            values[args[i]] = value;
        }

        var result = PreferenceSimulation.Run(values["--users"], values["--rounds"], perGeneration: Math.Min(values["--per-generation"], 23),
            seed: values["--seed"]);
        Console.WriteLine($"{result.Users} synthetic users, {result.Styles} styles, {result.StylesPerGeneration} a generation, seed {values["--seed"]}; " +
            $"exploration: each style slot a Thompson draw with probability {PreferenceModel.ExplorationShare:0.0}, prior strength {PreferenceModel.PriorStrength}");
        Console.WriteLine("regret = expected liked portraits lost a user against their best fixed styles, cumulative");
        Console.WriteLine($"{"round",6} {"learned",10} {"random",10} {"learned/random",15}");
        foreach (var point in result.Regret)
        {
            Console.WriteLine($"{point.Round,6} {point.Learned,10:0.00} {point.Random,10:0.00} {point.Learned / point.Random,15:P0}");
        }

        Console.WriteLine($"regret a generation: first tenth of rounds {result.FirstRoundsRegret:0.000}, last tenth {result.LastRoundsRegret:0.000}");
        Console.WriteLine($"each user's {result.StylesPerGeneration} best styles among those chosen in the last round: {result.FavouritesFoundAtEnd:P0}");
        return 0;
    }
}
