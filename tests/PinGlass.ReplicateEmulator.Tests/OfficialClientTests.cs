using System.Diagnostics;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Processing;

namespace PinGlass.ReplicateEmulator.Tests;

/// <summary>
/// Replicate's official JavaScript client (replicate 1.4.0, unchanged; <c>PinGlass.ReplicateEmulator/compat</c>, installed by
/// eng/bootstrap.sh) against a real emulator: <c>run()</c> on a community and an official model, the webhook secret and the client's
/// own <c>validateWebhook</c>, <c>wait()</c>, <c>predictions.list()</c> and a 422. The emulator is wrong wherever that client is.
/// </summary>
public sealed class OfficialClientTests
{
    [Fact]
    public async Task The_official_javascript_client_passes_every_check_against_the_emulator()
    {
        var compat = Path.Combine(RepositoryRoot(), "PinGlass.ReplicateEmulator", "compat");
        Assert.True(Directory.Exists(Path.Combine(compat, "node_modules", "replicate")), $"The official client is not installed in {compat}: eng/bootstrap.sh installs it.");
        await using var emulator = await Emulator.StartAsync();
        var face = Path.Combine(Path.GetTempPath(), $"official-client-face-{Guid.NewGuid():N}.png");
        using (var image = Image.Load(Emulator.FixturePath("astronaut.png")))
        {
            image.Mutate(x => x.Resize(128, 128));
            await image.SaveAsPngAsync(face, TestContext.Current.CancellationToken);
        }

        try
        {
            var start = new ProcessStartInfo("node", ["official-js-client.mjs", face])
            {
                WorkingDirectory = compat, RedirectStandardOutput = true, RedirectStandardError = true,
                Environment = { ["EMULATOR_URL"] = emulator.BaseAddress.AbsoluteUri.TrimEnd('/') },
            };
            using var node = Process.Start(start)!;
            var output = node.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            var errors = node.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            timeout.CancelAfter(TimeSpan.FromMinutes(3));
            try
            {
                await node.WaitForExitAsync(timeout.Token);
            }
            finally
            {
                if (!node.HasExited)
                {
                    node.Kill(entireProcessTree: true);
                }
            }

            Assert.True(node.ExitCode == 0, $"exit {node.ExitCode}\n{await output}\n{await errors}");
            Assert.Contains("official JavaScript client: all checks passed", await output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(face);
        }
    }

    private static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "PinGlass.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"No PinGlass.sln above {AppContext.BaseDirectory}.");
    }
}
