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

    /// <param name="jobsReplicas">Jobs replicas; null: the AppHost's two.</param>
    /// <param name="facesCache">
    /// Whether the faces service keeps its answers. Real outputs never repeat, but the emulator renders the same one again for a
    /// style and photo: without the cache every identity check is timed as it would be in production (the pipeline benchmark); with
    /// it the saturation benchmark measures the orchestration, not one Node process checking 2,300 images on two cores.
    /// </param>
    /// <param name="crowd">
    /// Many people's uploads at once from one client application: a generation starts on one photo sent and usable (as the AppHost
    /// tests do), and the analysis queue takes all of them (its default lets one client analyse two at a time, and refuses the rest
    /// with a 10 s Retry-After), the client's request limit is lifted (the benchmark reads every generation every second) and so is its
    /// limit of 100 open event streams (the people following generations all come through one client app), so generations start as
    /// fast as the Api can take them in and the create limit is what is measured.
    /// </param>
    public static async Task<BenchmarkApp> StartAsync(double timeScale, CancellationToken cancellationToken, int? jobsReplicas = null,
        bool facesCache = false, bool crowd = false)
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
            foreach (var faces in builder.Resources.OfType<ExecutableResource>().Where(r => r.Name == ResourceNames.Faces && !facesCache).ToList())
            {
                builder.CreateResourceBuilder(faces).WithEnvironment("FACES_CACHE_ENTRIES", "0");
            }

            foreach (var project in builder.Resources.OfType<ProjectResource>().ToList())
            {
                var service = builder.CreateResourceBuilder(project);
                if (project.Name == ResourceNames.Jobs && jobsReplicas is { } replicas)
                {
                    service.WithReplicas(replicas);
                }

                if (project.Name == ResourceNames.Api && crowd)
                {
                    service.WithEnvironment("Pipeline__MinUsablePhotos", "1").WithEnvironment("Photos__Intake__MinFiles", "1")
                        .WithEnvironment("Photos__AnalysisQueue__UploadsWaiting", "1000").WithEnvironment("Photos__AnalysisQueue__UploadsPerClient", "1000")
                        .WithEnvironment("Photos__AnalysisQueue__MaxWait", "00:10:00").WithEnvironment("Quotas__RequestsPerMinute", "100000")
                        .WithEnvironment("Quotas__EventStreamsPerClient", "10000");
                }
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
