using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PinGlass.Fixtures;
using PinGlass.Platform;

namespace PinGlass.Pipeline.Benchmark;

/// <summary>
/// The whole AppHost with local-process servers over its own data folder and random ports (as the AppHost tests start it), so the
/// benchmark can run beside a developer's AppHost. Disposing stops the servers and deletes the data folder.
/// </summary>
public sealed class BenchmarkApp(DistributedApplication app, string dataRoot) : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(4);

    public DistributedApplication App => app;

    public static async Task<BenchmarkApp> StartAsync(double timeScale, CancellationToken cancellationToken)
    {
        var dataRoot = Path.Combine("/var/tmp", $"pinglass-bench-{Guid.NewGuid():N}");
        DistributedApplication? started = null;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(StartTimeout);
            var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.PinGlass_AppHost>(
                ["--Infrastructure:Mode=Processes", $"--Infrastructure:DataRoot={dataRoot}", $"--ReplicateEmulator:TimeScale={timeScale}", ApiClients.DemoKeyArgument],
                timeout.Token);
            // Only the results are printed: the AppHost's appsettings log Information by default (a filter, so SetMinimumLevel alone
            // does not lower it), every resource's console output is forwarded as logs (postgres's stderr as errors), every HttpClient
            // request is traced, and health checks fail by design while the servers start. A failed generation shows in its status.
            builder.Services.AddLogging(logging => logging
                .AddFilter((string?)null, LogLevel.Warning)
                .AddFilter("PinGlass.AppHost.Resources", LogLevel.None)
                .AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None));
            // Real outputs never repeat, but the emulator renders the same one again for a style and seed: the faces service keeps no
            // answers here, so every identity check is timed as it would be in production.
            foreach (var faces in builder.Resources.OfType<ExecutableResource>().Where(r => r.Name == ResourceNames.Faces).ToList())
            {
                builder.CreateResourceBuilder(faces).WithEnvironment("FACES_CACHE_ENTRIES", "0");
            }

            started = await builder.BuildAsync(timeout.Token);
            await started.StartAsync(timeout.Token);
            await started.ResourceNotifications.WaitForResourceHealthyAsync(ResourceNames.Api, timeout.Token);
            await started.ResourceNotifications.WaitForResourceHealthyAsync(ResourceNames.Jobs, timeout.Token);
            return new BenchmarkApp(started, dataRoot);
        }
        catch
        {
            if (started is not null)
            {
                await started.DisposeAsync();
            }

            DeleteDataRoot(dataRoot);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await app.DisposeAsync();
        }
        finally
        {
            DeleteDataRoot(dataRoot);
        }
    }

    private static void DeleteDataRoot(string dataRoot)
    {
        if (Directory.Exists(dataRoot))
        {
            Directory.Delete(dataRoot, recursive: true);
        }
    }
}
