using System.Diagnostics;
using System.Runtime.Versioning;
using System.Security.Cryptography;

namespace PinGlass.Hosting.LocalServers;

/// <summary>
/// PostgreSQL, Redis and Azurite as local processes, for machines without a container runtime. Each keeps its data in a folder
/// under <see cref="InfrastructureSettings.DataRoot"/>, so a restart finds what the last run left; each gets a port from Aspire.
/// </summary>
[UnsupportedOSPlatform("windows")]
public static class LocalServers
{
    private const string PortVariable = "PINGLASS_SERVER_PORT";

    public static IResourceBuilder<LocalServerResource> AddLocalPostgres(
        this IDistributedApplicationBuilder builder, string name, InfrastructureSettings settings)
    {
        var dataDirectory = Path.Combine(settings.DataRoot, name);
        var password = builder.AddSecret($"{name}-password", settings);
        var (command, prefix) = AsPostgresUser(Path.Combine(settings.PostgresBinDirectory, "postgres"));

        var server = new LocalServerResource(name, command, settings.DataRoot, endpoint => ReferenceExpression.Create(
            $"Host={endpoint.Property(EndpointProperty.Host)};Port={endpoint.Property(EndpointProperty.Port)};Username=postgres;Password={password}"));

        builder.Eventing.Subscribe<BeforeResourceStartedEvent>(server, async (_, ct) =>
            await InitializePostgresCluster(settings, dataDirectory, password.Resource, ct));

        return builder.AddResource(server)
            .WithEndpoint(name: LocalServerResource.EndpointName, scheme: "tcp", env: PortVariable)
            .WithArgs(context =>
            {
                foreach (var arg in prefix)
                {
                    context.Args.Add(arg);
                }

                context.Args.Add("-D");
                context.Args.Add(dataDirectory);
                context.Args.Add("-p");
                context.Args.Add(server.Endpoint.Property(EndpointProperty.TargetPort));
                context.Args.Add("-c");
                context.Args.Add("listen_addresses=127.0.0.1");
                // TCP only: no socket file to collide with another cluster on this machine.
                context.Args.Add("-c");
                context.Args.Add("unix_socket_directories=");
                // Two Hangfire servers with 20 workers each, the Api and the pools of every replica.
                context.Args.Add("-c");
                context.Args.Add("max_connections=300");
            })
            .WithServerHealthCheck(ServerHealthChecks.Postgres)
            .WithIconName("Database");
    }

    public static IResourceBuilder<LocalServerResource> AddLocalRedis(
        this IDistributedApplicationBuilder builder, string name, InfrastructureSettings settings)
    {
        var dataDirectory = Path.Combine(settings.DataRoot, name);
        var password = builder.AddSecret($"{name}-password", settings);
        var configFile = Path.Combine(dataDirectory, "redis.conf");

        var server = new LocalServerResource(name, "redis-server", dataDirectory, endpoint => ReferenceExpression.Create(
            $"{endpoint.Property(EndpointProperty.Host)}:{endpoint.Property(EndpointProperty.Port)},password={password}"));

        // The password goes in a file only this user can read, not on the command line where `ps` shows it.
        builder.Eventing.Subscribe<BeforeResourceStartedEvent>(server, async (_, ct) =>
        {
            Directory.CreateDirectory(dataDirectory);
            WritePrivateFile(configFile, $"""
                bind 127.0.0.1
                protected-mode yes
                requirepass {await password.Resource.GetValueAsync(ct)}
                dir "{dataDirectory}"
                appendonly yes
                save ""
                """);
        });

        return builder.AddResource(server)
            .WithEndpoint(name: LocalServerResource.EndpointName, scheme: "tcp", env: PortVariable)
            .WithArgs(context =>
            {
                context.Args.Add(configFile);
                context.Args.Add("--port");
                context.Args.Add(server.Endpoint.Property(EndpointProperty.TargetPort));
            })
            .WithServerHealthCheck(ServerHealthChecks.Redis)
            .WithIconName("Memory");
    }

    public static IResourceBuilder<LocalServerResource> AddLocalAzurite(
        this IDistributedApplicationBuilder builder, string name, InfrastructureSettings settings)
    {
        var dataDirectory = Path.Combine(settings.DataRoot, name);
        var server = new LocalServerResource(name, settings.AzuriteCommand, settings.DataRoot, AzuriteConnectionString.For);

        builder.Eventing.Subscribe<BeforeResourceStartedEvent>(server, (_, _) =>
        {
            if (!File.Exists(settings.AzuriteCommand))
            {
                throw new DistributedApplicationException(
                    $"Azurite is not installed at {settings.AzuriteCommand}. Run eng/run.sh (or `npm ci` in eng/dev-servers) first.");
            }

            Directory.CreateDirectory(dataDirectory);
            return Task.CompletedTask;
        });

        return builder.AddResource(server)
            .WithEndpoint(name: LocalServerResource.EndpointName, scheme: "tcp", env: PortVariable)
            .WithArgs(context =>
            {
                context.Args.Add("--blobHost");
                context.Args.Add("127.0.0.1");
                context.Args.Add("--blobPort");
                context.Args.Add(server.Endpoint.Property(EndpointProperty.TargetPort));
                context.Args.Add("--location");
                context.Args.Add(dataDirectory);
                // The Azure SDK may speak a newer storage API version than this Azurite release knows.
                context.Args.Add("--skipApiVersionCheck");
            })
            .WithServerHealthCheck(ServerHealthChecks.Blobs)
            .WithIconName("Storage");
    }

    /// <summary>Creates the cluster once (initdb as the postgres user), with the superuser password from the data folder.</summary>
    private static async Task InitializePostgresCluster(
        InfrastructureSettings settings, string dataDirectory, ParameterResource password, CancellationToken cancellationToken)
    {
        if (File.Exists(Path.Combine(dataDirectory, "PG_VERSION")))
        {
            return;
        }

        var initdb = Path.Combine(settings.PostgresBinDirectory, "initdb");
        if (!File.Exists(initdb))
        {
            throw new DistributedApplicationException(
                $"PostgreSQL's initdb is not at {initdb}. Install PostgreSQL 15 (apt-get install postgresql) or set Infrastructure:PostgresBinDirectory.");
        }

        if (Directory.Exists(dataDirectory))
        {
            if (Directory.EnumerateFileSystemEntries(dataDirectory).Any())
            {
                throw new DistributedApplicationException(
                    $"{dataDirectory} holds files but no PostgreSQL cluster (no PG_VERSION). Move it away or delete it to start afresh.");
            }

            Directory.Delete(dataDirectory);
        }

        // initdb builds into a scratch folder that is renamed into place only when it succeeded: an interrupted initdb must not
        // leave a half-made cluster that later starts would take for a real one.
        var scratch = $"{dataDirectory}.initdb";
        if (Directory.Exists(scratch))
        {
            Directory.Delete(scratch, recursive: true);
        }

        Directory.CreateDirectory(scratch, DataRoot.Private);
        var passwordFile = $"{dataDirectory}.initdb-password";
        WritePrivateFile(passwordFile, await password.GetValueAsync(cancellationToken) ?? "");
        try
        {
            if (Environment.IsPrivilegedProcess)
            {
                await RunAsync("chown", ["-h", "postgres:postgres", scratch, passwordFile], cancellationToken);
            }

            var (command, prefix) = AsPostgresUser(initdb);
            await RunAsync(command, [.. prefix, "-D", scratch, "-U", "postgres", "--pwfile", passwordFile,
                "--auth-host=scram-sha-256", "--auth-local=peer", "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions"],
                cancellationToken);
            Directory.Move(scratch, dataDirectory);
        }
        finally
        {
            File.Delete(passwordFile);
        }
    }

    // PostgreSQL refuses to run as root: as root, run its programs as the postgres user. setpriv execs in place, so stop signals
    // reach the postmaster itself.
    private static (string Command, string[] Prefix) AsPostgresUser(string program) => Environment.IsPrivilegedProcess
        ? ("setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", program])
        : (program, []);

    /// <summary>
    /// A generated password kept beside the data it protects. Read on first use, not when the model is built, and once only, so two
    /// first readers cannot create two different passwords.
    /// </summary>
    internal static IResourceBuilder<ParameterResource> AddSecret(this IDistributedApplicationBuilder builder, string name, InfrastructureSettings settings)
    {
        var value = new Lazy<string>(() => ReadOrCreateSecret(settings.DataRoot, name));
        return builder.AddParameter(name, () => value.Value, secret: true);
    }

    private static string ReadOrCreateSecret(string dataRoot, string name)
    {
        var folder = Path.Combine(dataRoot, "secrets");
        DataRoot.EnsureOwnFolder(folder, DataRoot.Private);
        var path = Path.Combine(folder, name);
        if (File.Exists(path))
        {
            return File.ReadAllText(path).Trim() is { Length: > 0 } kept
                ? kept
                : throw new DistributedApplicationException($"{path} is empty. Delete it together with the data it protects to start afresh.");
        }

        // Written aside and moved into place, so a crash cannot leave an empty or half-written password behind.
        var secret = RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 32);
        var pending = $"{path}.{Environment.ProcessId}.tmp";
        WritePrivateFile(pending, secret);
        File.Move(pending, path);
        return secret;
    }

    private static void WritePrivateFile(string path, string content)
    {
        using var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        using var writer = new StreamWriter(stream);
        writer.Write(content);
        writer.Write('\n');
    }

    private static async Task RunAsync(string fileName, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(fileName, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start) ?? throw new DistributedApplicationException($"Could not start {fileName}.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        if (process.ExitCode != 0)
        {
            throw new DistributedApplicationException(
                $"{Path.GetFileName(fileName)} exited with {process.ExitCode}: {await error}{await output}");
        }
    }
}
