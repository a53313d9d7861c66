using System.Diagnostics;
using PinGlass.Platform;

namespace PinGlass.Hosting.LocalServers;

/// <summary>How the AppHost runs PostgreSQL, Redis and the blob store.</summary>
public enum InfrastructureMode
{
    /// <summary>Containers when a container runtime answers, local processes otherwise.</summary>
    Auto,

    /// <summary>Aspire's container resources (needs Docker or Podman).</summary>
    Containers,

    /// <summary>The same servers as local processes: Debian's PostgreSQL, redis-server and Azurite from npm.</summary>
    Processes,
}

/// <summary>The <c>Infrastructure</c> configuration section of the AppHost.</summary>
public sealed record InfrastructureSettings(InfrastructureMode Mode, string DataRoot, string PostgresBinDirectory, string AzuriteCommand)
{
    public const string Section = "Infrastructure";

    public static InfrastructureSettings From(IDistributedApplicationBuilder builder)
    {
        var section = builder.Configuration.GetSection(Section);
        var mode = section["Mode"] is { Length: > 0 } text
            ? Enum.TryParse<InfrastructureMode>(text, ignoreCase: true, out var parsed)
                ? parsed
                : throw new DistributedApplicationException($"{Section}:Mode is '{text}'; expected Auto, Containers or Processes.")
            : InfrastructureMode.Auto;

        // A deployment manifest describes what a container platform runs: the stores as containers (or managed services), never as
        // processes of this machine.
        if (builder.ExecutionContext.IsPublishMode)
        {
            mode = InfrastructureMode.Containers;
        }
        else if (mode == InfrastructureMode.Auto)
        {
            mode = ContainerRuntimeAnswers(builder.Configuration["ASPIRE_CONTAINER_RUNTIME"] ?? "docker")
                ? InfrastructureMode.Containers
                : InfrastructureMode.Processes;
        }

        var dataRoot = Path.GetFullPath(section["DataRoot"] is { Length: > 0 } root ? root : "/var/tmp/pinglass");
        return new InfrastructureSettings(
            mode,
            dataRoot,
            section["PostgresBinDirectory"] is { Length: > 0 } bin ? bin : FindPostgresBinDirectory(dataRoot),
            section["AzuriteCommand"] is { Length: > 0 } azurite
                ? azurite
                : Path.GetFullPath(Path.Combine(builder.AppHostDirectory, "..", "eng", "dev-servers", "node_modules", ".bin", "azurite-blob")));
    }

    // The client alone is not enough: `docker info` must reach an engine.
    private static bool ContainerRuntimeAnswers(string runtime)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(runtime, "info")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            if (process is null)
            {
                return false;
            }

            process.StandardOutput.ReadToEndAsync();
            process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                process.Kill(entireProcessTree: true);
                return false;
            }

            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false; // not installed
        }
    }

    // Debian installs each major version under /usr/lib/postgresql/N/bin. An existing cluster needs the major version that made
    // it (a newer one cannot open it); a new one gets the newest installed.
    private static string FindPostgresBinDirectory(string dataRoot)
    {
        var clusterVersion = Path.Combine(dataRoot, ResourceNames.Postgres, "PG_VERSION");
        if (File.Exists(clusterVersion))
        {
            return $"/usr/lib/postgresql/{File.ReadAllText(clusterVersion).Trim()}/bin";
        }

        return Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "postgres")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0)
                .FirstOrDefault() ?? ""
            : "";
    }
}
