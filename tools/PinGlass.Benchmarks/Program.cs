// PinGlass benchmarks. Usage: dotnet run -c Release --project tools/PinGlass.Benchmarks -- emulator [options]
using PinGlass.Benchmarks;

return args switch
{
    ["emulator", .. var rest] => await EmulatorBenchmark.RunAsync(rest),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("""
        usage: PinGlass.Benchmarks emulator [--url URL --token TOKEN] [--counts 23,500] [--time-scale 100]
                                           [--width 896 --height 1152 --format webp]
          Starts the Replicate emulator in-process (or uses --url), runs each count of concurrent flux-pulid predictions
          time-scaled, and prints the emulator's own overhead per prediction.
        """);
    return 2;
}
