using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PinGlass.Fixtures;
using PinGlass.Platform;

[assembly: AssemblyFixture(typeof(PinGlass.AppHost.Tests.PinGlassApp))]
// Three test classes at a time on 2 cores: the classes with an AppHost of their own (chaos, restart, telemetry) spend most of their time
// waiting on starts, stops and injected faults, and run beside the shared AppHost's tests; their starts take turns (StartAsync), and the
// two tests of twenty generations theirs (HeavyLoad).
[assembly: Xunit.v3.Parallelization(MaxThreads = 3)]

namespace PinGlass.AppHost.Tests;

/// <summary>
/// The whole AppHost, started once for the test assembly with local-process servers (no container runtime here), its own data folder
/// and random ports, so the suite can run beside a developer's AppHost. Test classes share it through the assembly fixture.
/// </summary>
public sealed class PinGlassApp : IAsyncLifetime
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(4);

    private static readonly SemaphoreSlim Starting = new(1, 1);

    /// <summary>How much faster than Replicate the emulator runs in the tests.</summary>
    public const int TimeScale = 20;

    private DistributedApplication? app;

    public string DataRoot { get; } = NewDataRoot();

    public DistributedApplication App => app ?? throw new InvalidOperationException("The AppHost has not started.");

    public async ValueTask InitializeAsync()
    {
        app = await StartAsync(DataRoot);
    }

    public async ValueTask DisposeAsync()
    {
        if (app is not null)
        {
            await app.DisposeAsync();
        }

        DeleteDataRoot(DataRoot);
    }

    /// <summary>
    /// Builds the AppHost in processes mode over <paramref name="dataRoot"/> without starting it; with <paramref name="dashboard"/>, the
    /// Aspire dashboard runs too and receives the services' telemetry.
    /// </summary>
    public static async Task<IDistributedApplicationTestingBuilder> CreateBuilderAsync(string dataRoot, string mode = "Processes", bool dashboard = false)
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.PinGlass_AppHost>(
            new DistributedApplicationTestingBuilderOptions { EnableDashboard = dashboard },
            [$"--Infrastructure:Mode={mode}", $"--Infrastructure:DataRoot={dataRoot}", $"--ReplicateEmulator:TimeScale={TimeScale}", ApiClients.DemoKeyArgument],
            TestContext.Current.CancellationToken);
        // Replicate time runs 20× faster; the pipeline's own waits shrink to match, so a lost webhook is looked for within seconds,
        // a killed worker's batch job is taken up again within seconds, and a model's circuit opened by one test's injected faults
        // has closed again by the next test, and a killed worker's create or take-in is taken over within half a minute. Providers are not probed on their own schedule: tests inject faults counted per model, and
        // a probe's GET of that model would take one of them (the probe is tested on its own).
        foreach (var jobs in builder.Resources.OfType<ProjectResource>().Where(r => r.Name == ResourceNames.Jobs).ToList())
        {
            builder.CreateResourceBuilder(jobs)
                .WithEnvironment("Pipeline__WebhookGrace", "00:00:02")
                .WithEnvironment("Replicate__CircuitBreaker__SamplingDuration", "00:00:05")
                .WithEnvironment("Replicate__CircuitBreaker__BreakDuration", "00:00:02")
                .WithEnvironment("Hangfire__InvisibilityTimeout", "00:00:10")
                .WithEnvironment("Hangfire__DistributedLockTimeout", "00:00:30")
                .WithEnvironment("Pipeline__CreateLease", "00:00:30")
                .WithEnvironment("Pipeline__PlanGrace", "00:00:20")
                .WithEnvironment("Pipeline__TakeInLease", "00:00:30")
                .WithEnvironment("RecurringJobs__Reconcile", "*/5 * * * * *")
                .WithEnvironment("RecurringJobs__Sweep", "*/5 * * * * *")
                .WithEnvironment("RecurringJobs__RollUpCosts", "*/5 * * * * *")
                .WithEnvironment("RecurringJobs__ProbeProviders", "0 0 1 1 *")
                // A client webhook is tried three times, a second and two apart, so a dead letter is made within seconds (Hangfire's
                // scheduler, polling every 15 s, or the sweep queues each retry). Two webhook workers a replica: fewer idle polls.
                .WithEnvironment("ClientWebhooks__RetryDelays__0", "00:00:01")
                .WithEnvironment("ClientWebhooks__RetryDelays__1", "00:00:02")
                .WithEnvironment("ClientWebhooks__SweepGrace", "00:00:05")
                .WithEnvironment("RecurringJobs__ClientWebhooks", "*/5 * * * * *")
                .WithEnvironment("Hangfire__ClientWebhookWorkers", "2");
        }

        // A generation starts on one photo sent and usable rather than ten and three: the faces service analyses every photo, and it is
        // the busiest server of a test run. Tests about the references send the whole fixture upload.
        foreach (var api in builder.Resources.OfType<ProjectResource>().Where(r => r.Name == ResourceNames.Api).ToList())
        {
            builder.CreateResourceBuilder(api).WithEnvironment("Pipeline__MinUsablePhotos", "1").WithEnvironment("Photos__Intake__MinFiles", "1")
                // The tests' demo client polls generations twice a second, twenty at a time, for one test user: its limits are out of the
                // way. The quota tests give a client of their own its own limits.
                .WithEnvironment("Quotas__RequestsPerMinute", "1000000")
                .WithEnvironment("Quotas__GenerationsPerUser", "10000")
                .WithEnvironment("Quotas__DailySpendCap", "1000000")
                // Twenty uploads at once from the demo client, beside tests that expect a 400 or 422 for theirs: the analysis queue lets
                // them all wait their turn (ChaosTests sets and tests its limits).
                .WithEnvironment("Photos__AnalysisQueue__UploadsWaiting", "1000")
                .WithEnvironment("Photos__AnalysisQueue__UploadsPerClient", "1000")
                .WithEnvironment("Photos__AnalysisQueue__MaxWait", "00:10:00");
        }

        // Health checks fail by design while the servers start; the tests assert on what matters instead.
        builder.Services.AddLogging(logging => logging
            .SetMinimumLevel(LogLevel.Warning)
            .AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None));
        return builder;
    }

    /// <summary>Starts the AppHost and waits until the Api and every Jobs replica report healthy.</summary>
    public static async Task<DistributedApplication> StartAsync(string dataRoot) => await StartAsync(await CreateBuilderAsync(dataRoot));

    /// <summary>
    /// Starts what <paramref name="builder"/> holds and waits until the Api and every Jobs replica report healthy. AppHosts start one at
    /// a time: three starting together on 2 cores have timed a Jobs replica out.
    /// </summary>
    public static async Task<DistributedApplication> StartAsync(IDistributedApplicationTestingBuilder builder)
    {
        await Starting.WaitAsync(TestContext.Current.CancellationToken);
        try
        {
            return await StartNowAsync(builder);
        }
        finally
        {
            Starting.Release();
        }
    }

    private static async Task<DistributedApplication> StartNowAsync(IDistributedApplicationTestingBuilder builder)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(StartTimeout);
        var started = await builder.BuildAsync(timeout.Token);
        try
        {
            await started.StartAsync(timeout.Token);
            await started.ResourceNotifications.WaitForResourceHealthyAsync(ResourceNames.Api, timeout.Token);
            await WaitForEveryReplicaAsync(started, ResourceNames.Jobs, timeout.Token);
            return started;
        }
        catch
        {
            await started.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Waits until every replica of <paramref name="name"/> has reported healthy. Waiting for the first alone let a test stop the AppHost
    /// while the other replica was still starting, and a replica killed then may leave a lock behind in Hangfire's storage.
    /// </summary>
    private static async Task WaitForEveryReplicaAsync(DistributedApplication app, string name, CancellationToken cancellationToken)
    {
        var healthy = new HashSet<string>();
        await foreach (var update in app.ResourceNotifications.WatchAsync(cancellationToken))
        {
            if (update.Resource.Name == name && KnownResourceStates.TerminalStates.Contains(update.Snapshot.State?.Text))
            {
                throw new InvalidOperationException($"A {name} replica ({update.ResourceId}) ended {update.Snapshot.State?.Text} before it was healthy.");
            }

            if (update.Resource.Name == name && update.Snapshot.HealthStatus == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy
                && healthy.Add(update.ResourceId)
                && healthy.Count >= (update.Resource.TryGetLastAnnotation<ReplicaAnnotation>(out var replicas) ? replicas.Replicas : 1))
            {
                return;
            }
        }
    }

    /// <summary>A data folder the postgres user can enter (under /var/tmp, not the checkout), unique to this run.</summary>
    public static string NewDataRoot() => Path.Combine("/var/tmp", $"pinglass-tests-{Guid.NewGuid():N}");

    public static void DeleteDataRoot(string dataRoot)
    {
        if (Directory.Exists(dataRoot))
        {
            Directory.Delete(dataRoot, recursive: true);
        }
    }

    /// <summary>
    /// Processes still running that belong to this data folder: by command line (postgres -D, azurite --location) or by working
    /// directory (redis-server rewrites its command line, postgres's children retitle themselves, but both run inside it).
    /// </summary>
    public static IReadOnlyList<string> ProcessesUsing(string dataRoot) =>
        [.. Using(dataRoot).Select(p => $"{p.CommandLine} (in {p.Directory})")];

    /// <summary>The ids of the processes of <paramref name="dataRoot"/> whose command line contains <paramref name="commandLine"/>.</summary>
    public static IReadOnlyList<int> ProcessIdsUsing(string dataRoot, string commandLine) =>
        [.. Using(dataRoot).Where(p => p.CommandLine.Contains(commandLine, StringComparison.Ordinal)).Select(p => p.Pid)];

    private static IEnumerable<(int Pid, string CommandLine, string Directory)> Using(string dataRoot) =>
        Directory.EnumerateDirectories("/proc")
            .Select(d => (Pid: int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0, Path: d))
            .Where(p => p.Pid > 0)
            .Select(p => (p.Pid, CommandLine: Read(() => Encoding.UTF8.GetString(File.ReadAllBytes(Path.Combine(p.Path, "cmdline"))).Replace('\0', ' ')),
                          Directory: Read(() => Directory.ResolveLinkTarget(Path.Combine(p.Path, "cwd"), returnFinalTarget: false)?.FullName ?? "")))
            .Where(p => p.CommandLine.Contains(dataRoot, StringComparison.Ordinal) || p.Directory.StartsWith(dataRoot, StringComparison.Ordinal));

    // A process may end while we look, and some are not ours to read.
    private static string Read(Func<string> read)
    {
        try
        {
            return read();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }
}
