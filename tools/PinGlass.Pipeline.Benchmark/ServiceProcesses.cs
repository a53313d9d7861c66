using System.Globalization;

namespace PinGlass.Pipeline.Benchmark;

/// <summary>
/// The Api and Jobs processes of one AppHost, told from another AppHost's on the same machine by the database connection string in
/// their environment; their CPU time and peak memory from /proc.
/// </summary>
public sealed class ServiceProcesses(IReadOnlyList<(string Service, int Pid)> processes)
{
    private static readonly double TicksPerSecond = 100; // USER_HZ on Linux

    public static ServiceProcesses Find(string connectionString)
    {
        var found = new List<(string, int)>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }

            try
            {
                var command = File.ReadAllText(Path.Combine(directory, "cmdline")).Replace('\0', ' ');
                var service = command.Contains("PinGlass.Api", StringComparison.Ordinal) ? "api"
                    : command.Contains("PinGlass.Jobs", StringComparison.Ordinal) ? "jobs" : null;
                if (service is not null && File.ReadAllText(Path.Combine(directory, "environ")).Contains(connectionString, StringComparison.Ordinal))
                {
                    found.Add((service, pid));
                }
            }
            catch (IOException)
            {
                // A process that ended while it was read.
            }
            catch (UnauthorizedAccessException)
            {
                // Another user's process: not one of ours.
            }
        }

        return new ServiceProcesses(found);
    }

    /// <summary>User and system CPU seconds so far of all of them, or of one service's processes.</summary>
    public double CpuSeconds(string? service = null) => processes.Where(p => service is null || p.Service == service).Sum(p =>
    {
        var stat = File.ReadAllText($"/proc/{p.Pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // After the command name: state is field 3; utime and stime are fields 14 and 15.
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
    });

    /// <summary>Starts each process's peak resident set afresh (Linux: 5 written to clear_refs), so what came before is not counted.</summary>
    public void ResetPeakMemory()
    {
        foreach (var (_, pid) in processes)
        {
            File.WriteAllText($"/proc/{pid}/clear_refs", "5");
        }
    }

    /// <summary>Each service's largest resident set (VmHWM) in MB; for several replicas, the largest of them.</summary>
    public IReadOnlyDictionary<string, double> PeakMemoryMb() => processes.GroupBy(p => p.Service).ToDictionary(g => g.Key, g => g.Max(p =>
        File.ReadLines($"/proc/{p.Pid}/status").Where(l => l.StartsWith("VmHWM:", StringComparison.Ordinal))
            .Select(l => double.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024).Single()));
}
