using Microsoft.Extensions.Configuration;
using PinGlass.Platform;

namespace PinGlass.AppHost;

/// <summary>
/// Where the services send Replicate calls: the real API when <c>REPLICATE_API_TOKEN</c> is set or a deployment manifest is published,
/// otherwise PinGlass's own Replicate emulator. Either way the services see a <c>replicate</c> service and a <c>Replicate:ApiToken</c>.
/// </summary>
public sealed class ReplicateEndpoint
{
    public const string RealApi = "https://api.replicate.com/";

    /// <summary>The token the emulator accepts; it guards nothing of value, it only makes clients send a bearer token.</summary>
    public const string EmulatorToken = "r8_pinglass_emulator_local_token";

    private const string EmulatorSection = "ReplicateEmulator";

    private readonly Action<IResourceBuilder<ProjectResource>> reference;

    private ReplicateEndpoint(IResourceBuilder<ParameterResource> token, Action<IResourceBuilder<ProjectResource>> reference, bool emulated) =>
        (Token, this.reference, IsEmulated) = (token, reference, emulated);

    /// <summary>True when the endpoint is the local emulator, which can reach the services (webhooks, loopback output URLs).</summary>
    public bool IsEmulated { get; }

    public IResourceBuilder<ParameterResource> Token { get; }

    public static ReplicateEndpoint Add(IDistributedApplicationBuilder builder)
    {
        // A deployment always talks to the real API; its token is an input of the deployment, never the emulator's.
        if (builder.Configuration["REPLICATE_API_TOKEN"] is { Length: > 0 } || builder.ExecutionContext.IsPublishMode)
        {
            var realToken = builder.AddParameterFromConfiguration("replicate-api-token", "REPLICATE_API_TOKEN", secret: true);
            var realApi = builder.AddExternalService(ResourceNames.Replicate, RealApi);
            return new(realToken, project => project.WithReference(realApi), emulated: false);
        }

        var token = builder.AddParameter("replicate-api-token", EmulatorToken, secret: true);
        var emulator = builder.AddProject<Projects.PinGlass_ReplicateEmulator>(ResourceNames.Replicate)
            .WithEnvironment($"{EmulatorSection}__ApiToken", token)
            .WithHttpHealthCheck("/health")
            .WithFaultScenarios();

        // Emulator settings given to the AppHost (ReplicateEmulator:TimeScale=10, faults, …) pass straight through; the services
        // learn the time scale too, because the emulator reads Cancel-After in its own time.
        foreach (var (key, value) in builder.Configuration.GetSection(EmulatorSection).AsEnumerable())
        {
            if (value is not null && !key.EndsWith(":ApiToken", StringComparison.OrdinalIgnoreCase))
            {
                emulator.WithEnvironment(key.Replace(":", "__"), value);
            }
        }

        var timeScale = builder.Configuration[$"{EmulatorSection}:TimeScale"] ?? "1";
        return new(token, project => project.WithReference(emulator).WaitFor(emulator).WithEnvironment("Replicate__ClockScale", timeScale), emulated: true);
    }

    public void ApplyTo(IResourceBuilder<ProjectResource> project)
    {
        reference(project);
        project.WithEnvironment("Replicate__ApiToken", Token);
    }

    /// <summary>
    /// With the emulator: the Jobs ask for webhooks to the Api's receiver, and outputs may be fetched from the emulator's loopback
    /// host. The real Replicate cannot reach a developer's machine, so there the Jobs poll.
    /// </summary>
    public void SendWebhooks(IResourceBuilder<ProjectResource> jobs, IResourceBuilder<ProjectResource> api)
    {
        if (!IsEmulated)
        {
            return;
        }

        jobs.WithEnvironment("Replicate__WebhookUrl", ReferenceExpression.Create($"{api.GetEndpoint("http")}/v1/webhooks/replicate"))
            .WithEnvironment("Pipeline__OutputHosts__9", "localhost");
    }
}

public static class ReplicateEndpointExtensions
{
    public static IResourceBuilder<ProjectResource> WithReplicate(this IResourceBuilder<ProjectResource> project, ReplicateEndpoint replicate)
    {
        replicate.ApplyTo(project);
        return project;
    }
}
