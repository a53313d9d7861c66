// PinGlass benchmarks. Usage: dotnet run -c Release --project tools/PinGlass.Benchmarks -- emulator|preferences [options]
using PinGlass.Benchmarks;

return args switch
{
    ["emulator", .. var rest] => await EmulatorBenchmark.RunAsync(rest),
    ["preferences", .. var rest] => PreferencesCommand.Run(rest),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("""
        usage: PinGlass.Benchmarks emulator [--url URL --token TOKEN] [--counts 23,500] [--time-scale 100]
                                           [--width 896 --height 1152 --format webp]
          Starts the Replicate emulator in-process (or uses --url), runs each count of concurrent flux-pulid predictions
          time-scaled, and prints the emulator's own overhead per prediction.
        PinGlass.Benchmarks preferences [--users 200] [--rounds 60] [--per-generation 6] [--seed 19]
          Simulates users of known tastes choosing styles through PinGlass's preference learning and prints its regret
          against each user's best fixed styles, beside choosing at random.
        """);
    return 2;
}
