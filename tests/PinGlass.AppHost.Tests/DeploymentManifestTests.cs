using System.Diagnostics;
using System.Text.Json;
using PinGlass.Platform;

namespace PinGlass.AppHost.Tests;

/// <summary>
/// The AppHost's deployment manifest (<c>--publisher manifest</c>), as a deployment tool reads it: the stores as containers, the
/// services as projects the .NET SDK builds into images, the faces service from its Dockerfile, the real Replicate with its token
/// as a secret input, and nothing of local development (the emulator, the demo key).
/// </summary>
public sealed class DeploymentManifestTests
{
    [Fact]
    public async Task The_manifest_deploys_the_services_on_containers_against_the_real_replicate()
    {
        var resources = (await PublishAsync()).GetProperty("resources");

        Assert.StartsWith("docker.io/library/postgres:", Image(resources, ResourceNames.Postgres));
        Assert.StartsWith("docker.io/library/redis:", Image(resources, ResourceNames.Cache));
        // Blob storage is the deployment's own (a connection string it is given), never Azurite with its published key.
        Assert.Equal("parameter.v0", resources.GetProperty(ResourceNames.Blobs).GetProperty("type").GetString());
        Assert.True(resources.GetProperty(ResourceNames.Blobs).GetProperty("inputs").GetProperty("value").GetProperty("secret").GetBoolean());
        Assert.DoesNotContain(resources.EnumerateObject(), r => r.Value.TryGetProperty("image", out var image) && image.GetString()!.Contains("azurite"));
        foreach (var project in new[] { ResourceNames.Api, ResourceNames.Jobs, ResourceNames.Migrations })
        {
            Assert.Equal("project.v0", resources.GetProperty(project).GetProperty("type").GetString());
        }

        // The faces service is a container built from its Dockerfile (a deployment tool builds it; there is no engine here to do so).
        var faces = resources.GetProperty(ResourceNames.Faces);
        Assert.Equal("container.v1", faces.GetProperty("type").GetString());
        var dockerfile = Path.GetFullPath(Path.Combine(ManifestDirectory, faces.GetProperty("build").GetProperty("dockerfile").GetString()!));
        Assert.True(File.Exists(dockerfile), $"the faces service's Dockerfile is where the manifest says ({dockerfile})");
        // It listens on loopback unless told otherwise; in a container the services reach it from outside.
        Assert.Contains("HOST=0.0.0.0", await File.ReadAllTextAsync(dockerfile, TestContext.Current.CancellationToken));

        // The real API, its token an input of the deployment; no emulator, no demo client.
        Assert.False(resources.TryGetProperty(ResourceNames.Replicate, out var replicate) && replicate.GetProperty("type").GetString() == "project.v0",
            "the emulator is not deployed");
        var token = resources.GetProperty("replicate-api-token");
        Assert.True(token.GetProperty("inputs").GetProperty("value").GetProperty("secret").GetBoolean());
        Assert.False(token.GetProperty("inputs").GetProperty("value").TryGetProperty("default", out _), "the token has no default value");
        foreach (var service in new[] { ResourceNames.Api, ResourceNames.Jobs })
        {
            var env = resources.GetProperty(service).GetProperty("env");
            Assert.Equal("{replicate-api-token.value}", env.GetProperty("Replicate__ApiToken").GetString());
            Assert.False(env.TryGetProperty("Replicate__ClockScale", out _), "no emulator clock");
            Assert.False(env.TryGetProperty("Pipeline__OutputHosts__9", out _), "outputs are not fetched from loopback");
            Assert.False(env.TryGetProperty("Replicate__WebhookUrl", out _), "no webhook to a local Api: a deployment configures its public URL");
        }

        Assert.False(resources.TryGetProperty("demo-api-key", out _), "no demo client's key in a deployment");
    }

    private static string ManifestDirectory { get; } = Path.Combine(Path.GetTempPath(), $"pinglass-manifest-{Guid.NewGuid():N}");

    private static string? Image(JsonElement resources, string name)
    {
        var resource = resources.GetProperty(name);
        Assert.Equal("container.v0", resource.GetProperty("type").GetString());
        return resource.GetProperty("image").GetString();
    }

    /// <summary>Runs the built AppHost as a deployment tool does, in Production, and reads what it wrote.</summary>
    private static async Task<JsonElement> PublishAsync()
    {
        var manifest = Path.Combine(ManifestDirectory, "aspire-manifest.json");
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, "PinGlass.AppHost.dll"), "--publisher", "manifest", "--output-path", manifest },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["DOTNET_ENVIRONMENT"] = "Production", ["REPLICATE_API_TOKEN"] = "" },
        };
        using var process = Process.Start(start)!;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(2)); // an AppHost that waits for something (a parameter's value) must not hang the suite
        try
        {
            var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var errors = process.StandardError.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token);
            Assert.True(process.ExitCode == 0 && File.Exists(manifest), $"the AppHost exited {process.ExitCode}: {await output}{await errors}");
            return JsonDocument.Parse(await File.ReadAllTextAsync(manifest, timeout.Token)).RootElement.Clone();
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            if (Directory.Exists(ManifestDirectory))
            {
                Directory.Delete(ManifestDirectory, recursive: true);
            }
        }
    }
}
