using System.Diagnostics;
using System.Runtime.Versioning;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace PinGlass.Hosting.LocalServers;

/// <summary>
/// The folder the local servers keep their data in. It sits in a shared place (/var/tmp, so the postgres user can enter it), so
/// it is claimed before use: refused when another user controls it, and held with an exclusive lock while the AppHost runs, so a
/// second AppHost cannot start a second Redis or Azurite on the same files.
/// </summary>
[UnsupportedOSPlatform("windows")]
public static class DataRoot
{
    public const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    // Others may pass through (the postgres user must reach its own folder) but not list or write.
    private const UnixFileMode Traversable = Private | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    public static void Claim(IDistributedApplicationBuilder builder, string root) =>
        builder.Eventing.Subscribe<BeforeStartEvent>((started, _) =>
        {
            var held = Lock(root);
            started.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopped.Register(held.Dispose);
            return Task.CompletedTask;
        });

    /// <summary>Creates <paramref name="path"/> if needed and makes sure only this user can change it.</summary>
    public static void EnsureOwnFolder(string path, UnixFileMode mode)
    {
        Directory.CreateDirectory(path, mode);
        var actual = File.GetUnixFileMode(path);
        if ((actual & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0 || Output("stat", "-c", "%u", path) != CurrentUser.Value)
        {
            throw new DistributedApplicationException(
                $"{path} belongs to another user or others may write to it; PinGlass will not keep its data or passwords there. " +
                "Remove it, or set Infrastructure:DataRoot to a folder of your own.");
        }
    }

    private static FileStream Lock(string root)
    {
        EnsureOwnFolder(root, Traversable);
        try
        {
            // FileShare.None takes an exclusive flock, released when this process ends, however it ends.
            return new FileStream(Path.Combine(root, ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            throw new DistributedApplicationException(
                $"Another PinGlass AppHost is using {root}. Stop it, or give this one its own Infrastructure:DataRoot.");
        }
    }

    private static readonly Lazy<string> CurrentUser = new(() => Output("id", "-u"));

    private static string Output(string command, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(command, arguments) { RedirectStandardOutput = true })
            ?? throw new DistributedApplicationException($"Could not run {command}.");
        var output = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        return output;
    }
}
