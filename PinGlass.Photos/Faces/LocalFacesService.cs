using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace PinGlass.Photos.Faces;

/// <summary>
/// Runs PinGlass.Faces as a child process on a free local port, for tests and the benchmark (the AppHost runs it as the
/// <c>faces</c> resource). Killed on dispose.
/// </summary>
public sealed class LocalFacesService : IAsyncDisposable
{
    private readonly Process process;

    private LocalFacesService(Process process, Uri baseAddress) => (this.process, BaseAddress) = (process, baseAddress);

    public Uri BaseAddress { get; }

    public int ProcessId => process.Id;

    /// <summary>
    /// Starts <c>node server.mjs</c> in <paramref name="serviceDirectory"/> with <paramref name="environment"/> added to its own
    /// (e.g. <c>FACES_MODEL</c> for the calibration harness) and waits for <c>/health</c>.
    /// </summary>
    public static async Task<LocalFacesService> StartAsync(
        string serviceDirectory, TimeSpan timeout, CancellationToken cancellationToken = default, IReadOnlyDictionary<string, string>? environment = null)
    {
        if (!Directory.Exists(Path.Combine(serviceDirectory, "node_modules", "@vladmandic", "human")))
        {
            throw new InvalidOperationException(
                $"{serviceDirectory}/node_modules is missing: run `npm ci` in {serviceDirectory} (eng/bootstrap.sh does) before starting the faces service.");
        }

        var port = FreePort();
        var start = new ProcessStartInfo("node", "server.mjs")
        {
            WorkingDirectory = serviceDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("node could not be started; is Node 20 on the PATH?");
        var output = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var service = new LocalFacesService(process, new Uri($"http://127.0.0.1:{port}/"));
        using var http = new HttpClient { BaseAddress = service.BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (process.HasExited)
            {
                break;
            }

            try
            {
                using var response = await http.GetAsync("health", cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return service;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Busy loading the models.
            }

            await Task.Delay(100, cancellationToken);
        }

        await service.DisposeAsync();
        string log;
        lock (output)
        {
            log = output.ToString();
        }

        throw new InvalidOperationException($"The faces service in {serviceDirectory} did not become healthy within {timeout.TotalSeconds:F0} s. Its output:\n{log}");
    }

    /// <summary>The nearest PinGlass.Faces folder above <paramref name="start"/> (the repository root holds it).</summary>
    public static string FindServiceDirectory(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "PinGlass.Faces");
            if (File.Exists(Path.Combine(candidate, "server.mjs")))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException($"No PinGlass.Faces/server.mjs above {start}.");
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
